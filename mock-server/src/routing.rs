//! The service registry: every action of every service, and the lookup the pipeline routes
//! a request's `Action` with.

use crate::api::ActionSpec;
use crate::service::Service;
use crate::{ec2, iam, sts};

/// Every action the server implements: service, `Action` name and IAM action, in the order
/// of each service's table (the reference docs list them from here).
pub fn supported_actions() -> impl Iterator<Item = (Service, &'static str, &'static str)> {
    [Service::Sts, Service::Iam, Service::Ec2]
        .into_iter()
        .flat_map(|service| {
            table(service)
                .iter()
                .map(move |a| (service, a.name, a.iam_action))
        })
}

fn table(service: Service) -> &'static [ActionSpec] {
    match service {
        Service::Sts => sts::api::ACTIONS,
        Service::Ec2 => ec2::api::ACTIONS,
        Service::Iam => iam::api::ACTIONS,
    }
}

/// The action `name` of `service`, if it is implemented.
pub(crate) fn lookup(service: Service, name: &str) -> Option<&'static ActionSpec> {
    table(service).iter().find(|a| a.name == name)
}
