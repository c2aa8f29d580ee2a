//! AWS managed policies, addressable by name or by `arn:PARTITION:iam::aws:policy/NAME`.

/// `(name, document)` of each AWS managed policy served.
const CATALOGUE: &[(&str, &str)] = &[(
    "AdministratorAccess",
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
)];

/// The document of the AWS managed policy `name`, if there is one.
pub(crate) fn document(name: &str) -> Option<&'static str> {
    CATALOGUE
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, doc)| *doc)
}

/// The name of the AWS managed policy an ARN of `partition` names, if it names one.
pub(crate) fn name_from_arn<'a>(arn: &'a str, partition: &str) -> Option<&'a str> {
    let rest = arn.strip_prefix("arn:")?.strip_prefix(partition)?;
    let name = rest.strip_prefix(":iam::aws:policy")?;
    let name = name.rsplit('/').next()?;
    CATALOGUE.iter().find(|(n, _)| *n == name).map(|_| name)
}
