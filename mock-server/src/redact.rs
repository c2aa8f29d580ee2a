//! What must never reach a log or `Debug` output: secrets, session tokens, signatures
//! (replayable for 15 minutes), identity tokens and assertions.

/// The stand-in printed instead of a secret.
pub(crate) const REDACTED: &str = "<redacted>";

/// Whether a parameter or header with this name carries a secret.
pub(crate) fn is_secret(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        "token",
        "secret",
        "signature",
        "assertion",
        "password",
        "authorization",
    ]
    .iter()
    .any(|word| lower.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_recognised() {
        for name in [
            "X-Amz-Security-Token",
            "X-Amz-Signature",
            "WebIdentityToken",
            "SAMLAssertion",
            "authorization",
            "SecretAccessKey",
        ] {
            assert!(is_secret(name), "{name}");
        }
        for name in ["Action", "Version", "RoleArn", "X-Amz-Credential", "host"] {
            assert!(!is_secret(name), "{name}");
        }
    }
}
