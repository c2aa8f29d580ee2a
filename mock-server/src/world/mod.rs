//! The world: accounts, users, access keys, roles and policies a server starts with.
//!
//! A world comes from a YAML file (`trustbench serve --world FILE`), from code, or is the
//! default world below. This module owns the file schema and its parsing; `iam::store` turns a
//! world into the indexed, validated form the request path reads.
//!
//! ```yaml
//! accounts:
//!   - id: "111111111111"
//!     partition: aws                 # aws | aws-us-gov | aws-cn (default aws)
//!     opted_in_regions: [af-south-1] # opt-in regions this account enabled
//!     root_access_keys: []           # keys of the account root user (avoid, as on AWS)
//!     policies:                      # customer managed policies
//!       - name: HarnessDescribeRegions
//!         document: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "ec2:DescribeRegions", Resource: "*"}]}
//!     users:
//!       - name: deployer
//!         managed_policies: [HarnessDescribeRegions]   # names or ARNs; AWS managed by name too
//!         inline_policies: {}
//!         access_keys:
//!           - {id: AKIAEXAMPLEDEPLOYER1, secret: "…", status: Active}
//!     roles:
//!       - name: cross-account-deployer
//!         trust_policy: {…}
//! ```

pub(crate) mod delegates;
mod entities;

pub use entities::Entities;
pub(crate) use entities::{Keyed, changed, dedup, find_mut, remove_where, select};

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::faults::FaultRule;
use crate::propagation::Propagation;

use crate::policy::PolicyError;

/// A whole world.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct World {
    /// The accounts, each in one partition.
    #[serde(default)]
    pub accounts: Vec<AccountSpec>,
    /// How IAM changes propagate (delays per kind of change, jitter), unless the server is
    /// given its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagation: Option<Propagation>,
    /// Fault rules in force while this world is loaded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultRule>,
    /// Places a connector's delegate runs (EC2 instances, ECS tasks, EKS pods), each with the
    /// credential source it offers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delegates: Vec<DelegateSpec>,
    /// AWS Organizations: each organization's tree of organizational units and accounts, and
    /// the service control policies attached along it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organizations: Vec<OrganizationSpec>,
}

/// An organization: its management account, its root with organizational units and member
/// accounts, and its service control policies (SCPs). Every account of it is in the
/// management account's partition.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationSpec {
    /// `o-` and 10 to 32 lowercase letters or digits (default: derived from the management
    /// account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The management account: SCPs never apply to it. It is a member under the root unless
    /// the tree places it elsewhere.
    pub management_account: String,
    /// The organization's own SCPs (`FullAWSAccess`, AWS managed, is always there).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<OrgPolicySpec>,
    /// The root: its SCPs, the accounts directly under it and its organizational units.
    #[serde(default)]
    pub root: OrgUnitSpec,
}

/// A service control policy of an organization.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OrgPolicySpec {
    /// Its name, which the tree attaches it by.
    pub name: String,
    /// `p-` and 8 to 128 lowercase letters, digits or underscores (default: derived from the
    /// name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The policy document, as YAML/JSON structure or JSON text.
    pub document: Value,
}

/// The root or an organizational unit (OU).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OrgUnitSpec {
    /// The OU's name (the root's is `Root`).
    #[serde(default = "default_root_name")]
    pub name: String,
    /// `r-` and 4 to 32 lowercase letters or digits for the root; `ou-`, the root id's
    /// suffix, `-` and 8 to 32 more for an OU (default: derived).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The SCPs attached to it, by name (default `[FullAWSAccess]`, as AWS attaches it to
    /// every new root, OU and account); at least one.
    #[serde(default = "default_scps")]
    pub policies: Vec<String>,
    /// The accounts directly in it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<OrgAccountSpec>,
    /// Its child OUs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<OrgUnitSpec>,
}

impl Default for OrgUnitSpec {
    fn default() -> Self {
        Self {
            name: default_root_name(),
            id: None,
            policies: default_scps(),
            accounts: Vec::new(),
            units: Vec::new(),
        }
    }
}

/// An account's place in an organization.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OrgAccountSpec {
    /// The account id (an account of the world).
    pub id: String,
    /// The SCPs attached to the account itself, by name (default `[FullAWSAccess]`).
    #[serde(default = "default_scps")]
    pub policies: Vec<String>,
}

/// The name of the SCP AWS attaches everywhere by default.
pub(crate) const FULL_AWS_ACCESS: &str = "FullAWSAccess";

fn default_scps() -> Vec<String> {
    vec![FULL_AWS_ACCESS.to_owned()]
}
fn default_root_name() -> String {
    "Root".into()
}

/// Where a delegate runs, and so where its credentials come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DelegateKind {
    /// An EC2 instance: instance metadata (IMDS) with its instance profile's role.
    Ec2,
    /// An ECS task: the container credentials endpoint with its task role.
    Ecs,
    /// An EKS pod: a projected service-account token for IRSA.
    Eks,
}

/// Whether an instance's metadata needs an IMDSv2 session token (`HttpTokens`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpTokens {
    /// IMDSv2 only: every request needs a token.
    #[default]
    Required,
    /// IMDSv1 allowed too: requests without a token are served.
    Optional,
}

/// An AWS service endpoint a delegate may be unable to reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReachableService {
    /// STS (`AWS_ENDPOINT_URL_STS`).
    Sts,
    /// EC2 (`AWS_ENDPOINT_URL_EC2`).
    Ec2,
    /// IAM (`AWS_ENDPOINT_URL_IAM`).
    Iam,
}

impl ReachableService {
    /// The environment variable that sets the service's endpoint for every SDK
    /// (`AWS_ENDPOINT_URL_<SERVICE ID>`).
    pub fn endpoint_variable(self) -> &'static str {
        match self {
            ReachableService::Sts => "AWS_ENDPOINT_URL_STS",
            ReachableService::Ec2 => "AWS_ENDPOINT_URL_EC2",
            ReachableService::Iam => "AWS_ENDPOINT_URL_IAM",
        }
    }
}

/// A delegate: an EC2 instance, ECS task or EKS pod in one account and region.
#[derive(Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DelegateSpec {
    /// A name unique in the world; it appears in the delegate's endpoint URLs.
    pub name: String,
    /// `ec2`, `ecs` or `eks`.
    pub kind: DelegateKind,
    /// The account it runs in.
    pub account: String,
    /// The region it runs in (default `us-east-1`).
    #[serde(default = "default_region")]
    pub region: String,
    /// The role: the instance profile's (ec2), the task role (ecs), the service account's
    /// `eks.amazonaws.com/role-arn` annotation (eks). None: a delegate without a role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// ec2: the instance id (default: derived from the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// ec2: the instance profile name (default: one named after the role, made for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_profile: Option<String>,
    /// ec2: whether IMDSv2 tokens are required (default) or optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_tokens: Option<HttpTokens>,
    /// ec2: the IPv6 endpoint of instance metadata is enabled (EC2's `HttpProtocolIpv6`):
    /// it is served on `[::1]` as well, and the delegate's environment uses it
    /// (`AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub http_protocol_ipv6: bool,
    /// ec2: how many network hops the IMDSv2 token's response may travel (EC2's
    /// `HttpPutResponseHopLimit`, 1 to 64; default 1): a container on the instance is one
    /// hop further than the instance, so with 1 its token requests go unanswered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_put_response_hop_limit: Option<u8>,
    /// ecs: the authorization token the endpoint expects (default: derived from the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<String>,
    /// ecs: give the token in a file (`AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`) rather than
    /// in `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auth_token_in_file: bool,
    /// eks: the cluster's OIDC issuer URL (`https://oidc.eks.REGION.amazonaws.com/id/ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// eks: the pod's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// eks: the pod's service account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// eks: the `ec2` delegate (the node) the pod runs on. A pod without IRSA falls through
    /// its SDK's default chain to the node's instance metadata, one hop further away than
    /// the node itself (see `http_put_response_hop_limit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Service endpoints the delegate cannot reach (a firewall, a missing route or VPC
    /// endpoint): its environment points them at a closed loopback port.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreachable: Vec<ReachableService>,
    /// eks: the projected token file is never rewritten (a kubelet that does not rotate it,
    /// or a token copied at start), so it expires a day after it was issued.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unrotated_token: bool,
    /// The delegate's tags, which a connector's delegate selectors match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

impl DelegateSpec {
    /// The instance id of an `ec2` delegate: its own, or one derived from its name.
    pub(crate) fn instance_id(&self) -> String {
        self.instance_id
            .clone()
            .unwrap_or_else(|| format!("i-0{:016x}", crate::wire::fingerprint(&self.name)))
    }

    /// Whether its instance metadata has the IPv6 endpoint (an `ec2` delegate only).
    pub(crate) fn ipv6_endpoint(&self) -> bool {
        self.kind == DelegateKind::Ec2 && self.http_protocol_ipv6
    }

    /// Whether a process on it reaches instance metadata: an instance's own, or a pod's
    /// node's.
    pub(crate) fn has_instance_metadata(&self) -> bool {
        self.kind == DelegateKind::Ec2 || (self.kind == DelegateKind::Eks && self.node.is_some())
    }

    /// The hops an IMDSv2 token's response may travel (`HttpPutResponseHopLimit`).
    pub(crate) fn hop_limit(&self) -> u8 {
        self.http_put_response_hop_limit.unwrap_or(1)
    }
}

impl std::fmt::Debug for DelegateSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DelegateSpec")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("account", &self.account)
            .field("region", &self.region)
            .field("role_arn", &self.role_arn)
            .field(
                "auth_token",
                &self.auth_token.as_ref().map(|_| crate::redact::REDACTED),
            )
            .finish_non_exhaustive()
    }
}

/// One AWS account.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    /// The 12-digit account id.
    pub id: String,
    /// `aws` (default), `aws-us-gov` or `aws-cn`.
    #[serde(default = "default_partition")]
    pub partition: String,
    /// Opt-in regions the account has enabled.
    #[serde(default)]
    pub opted_in_regions: Vec<String>,
    /// Access keys of the account's root user.
    #[serde(default)]
    pub root_access_keys: Vec<AccessKeySpec>,
    /// IAM users.
    #[serde(default)]
    pub users: Entities<UserSpec>,
    /// IAM groups.
    #[serde(default)]
    pub groups: Entities<GroupSpec>,
    /// IAM roles.
    #[serde(default)]
    pub roles: Entities<RoleSpec>,
    /// Customer managed policies.
    #[serde(default)]
    pub policies: Entities<ManagedPolicySpec>,
    /// Instance profiles (what EC2 instances get their role from).
    #[serde(default)]
    pub instance_profiles: Entities<InstanceProfileSpec>,
    /// IAM OpenID Connect identity providers (EKS clusters' issuers, for IRSA).
    #[serde(default)]
    pub open_id_connect_providers: Entities<OidcProviderSpec>,
    /// EC2 resources, by region. Every region also has a default VPC with a default subnet
    /// per availability zone and a default security group, as new accounts do.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ec2: BTreeMap<String, Ec2RegionSpec>,
}

/// An account's EC2 resources in one region.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Ec2RegionSpec {
    /// VPCs besides the default one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vpcs: Vec<VpcSpec>,
    /// Subnets besides the default ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<SubnetSpec>,
    /// Security groups besides each VPC's `default`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<SecurityGroupSpec>,
    /// Key pairs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_pairs: Vec<KeyPairSpec>,
    /// Images (AMIs) the account owns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ImageSpec>,
    /// Launch templates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub launch_templates: Vec<LaunchTemplateSpec>,
    /// Instances (`ec2` delegates are instances too, without being listed here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<InstanceSpec>,
}

/// A VPC.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VpcSpec {
    /// `vpc-` and 8 or 17 hex digits.
    pub id: String,
    /// Its IPv4 range (default `10.0.0.0/16`).
    #[serde(default = "default_vpc_cidr")]
    pub cidr_block: String,
    /// Tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// A subnet.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SubnetSpec {
    /// `subnet-` and 8 or 17 hex digits.
    pub id: String,
    /// The VPC it is in (default: the default VPC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc: Option<String>,
    /// Its IPv4 range (default `10.0.N.0/24`, N its position in the list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr_block: Option<String>,
    /// Its availability zone (default: the region's first, e.g. `us-east-1a`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// A security group.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityGroupSpec {
    /// `sg-` and 8 or 17 hex digits.
    pub id: String,
    /// Its name, unique in its VPC.
    pub name: String,
    /// Its description (default: the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The VPC it is in (default: the default VPC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// A key pair.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPairSpec {
    /// Its name.
    pub name: String,
    /// `key-` and 17 hex digits (default: derived from the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// An image (AMI).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    /// `ami-` and 8 or 17 hex digits.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `x86_64` (default), `arm64`, `i386`.
    #[serde(default = "default_architecture")]
    pub architecture: String,
    /// Launchable by every account of the partition (default: only by its owner).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub public: bool,
    /// `available` (default), `pending`, `failed`, `deregistered`, …
    #[serde(default = "default_image_state")]
    pub state: String,
    /// RFC 3339 creation time (default: when the world is loaded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// A launch template (one version).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchTemplateSpec {
    /// Its name.
    pub name: String,
    /// `lt-` and 17 hex digits (default: derived from the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The image instances launched from it run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Their instance type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    /// Their instance profile (name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_profile: Option<String>,
    /// Tags of the template.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// An instance.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceSpec {
    /// `i-` and 8 or 17 hex digits.
    pub id: String,
    /// The image it runs (an image of the world, or any `ami-` id).
    pub image: String,
    /// Its type (default `t3.micro`).
    #[serde(default = "default_instance_type")]
    pub instance_type: String,
    /// `running` (default) or `stopped`.
    #[serde(default = "default_instance_state")]
    pub state: String,
    /// Its subnet (default: the default subnet of the region's first zone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    /// Its key pair's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    /// Its instance profile's name (an instance profile of the account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_profile: Option<String>,
    /// Its security groups' ids (default: the VPC's `default` group).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<String>,
    /// RFC 3339 launch time (default: when the world is loaded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launched: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// An instance profile: a container for (at most) one role.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceProfileSpec {
    /// The instance profile name.
    pub name: String,
    /// The IAM path (default `/`).
    #[serde(default = "default_path")]
    pub path: String,
    /// The role names it holds.
    #[serde(default)]
    pub roles: Vec<String>,
    /// When it was created (RFC 3339); the server's start time when absent.
    #[serde(default)]
    pub created: Option<String>,
}

/// An IAM OpenID Connect provider.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OidcProviderSpec {
    /// The issuer URL, `https://…`.
    pub url: String,
    /// The audiences (client ids) it accepts, such as `sts.amazonaws.com`.
    #[serde(default)]
    pub client_ids: Vec<String>,
    /// Certificate thumbprints (40 hex characters each).
    #[serde(default)]
    pub thumbprints: Vec<String>,
    /// When it was created (RFC 3339); the server's start time when absent.
    #[serde(default)]
    pub created: Option<String>,
}

/// An IAM user.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// The user name.
    pub name: String,
    /// The IAM path (default `/`).
    #[serde(default = "default_path")]
    pub path: String,
    /// Attached managed policies: names or ARNs (AWS managed ones by name too).
    #[serde(default)]
    pub managed_policies: Vec<String>,
    /// Inline policies by name.
    #[serde(default)]
    pub inline_policies: BTreeMap<String, Value>,
    /// The user's access keys.
    #[serde(default)]
    pub access_keys: Vec<AccessKeySpec>,
    /// When the user was created (RFC 3339); the server's start time when absent.
    #[serde(default)]
    pub created: Option<String>,
    /// The groups the user is in.
    #[serde(default)]
    pub groups: Vec<String>,
    /// The ARN of the managed policy that is the user's permissions boundary.
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    /// Tags (`aws:PrincipalTag/KEY` in the user's requests).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// An IAM group: its policies apply to every member.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// The group name.
    pub name: String,
    /// The IAM path (default `/`).
    #[serde(default = "default_path")]
    pub path: String,
    /// Attached managed policies: names or ARNs.
    #[serde(default)]
    pub managed_policies: Vec<String>,
    /// Inline policies by name.
    #[serde(default)]
    pub inline_policies: BTreeMap<String, Value>,
    /// When the group was created (RFC 3339); the server's start time when absent.
    #[serde(default)]
    pub created: Option<String>,
}

/// An IAM role. Roles are stored and validated; they become assumable with the STS issue.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    /// The role name.
    pub name: String,
    /// The IAM path (default `/`).
    #[serde(default = "default_path")]
    pub path: String,
    /// The trust policy (`AssumeRolePolicyDocument`).
    pub trust_policy: Value,
    /// Attached managed policies.
    #[serde(default)]
    pub managed_policies: Vec<String>,
    /// Inline policies by name.
    #[serde(default)]
    pub inline_policies: BTreeMap<String, Value>,
    /// The longest session, in seconds (3600 to 43200, default 3600).
    #[serde(default = "default_max_session")]
    pub max_session_duration: u32,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
    /// The ARN of the managed policy that is the role's permissions boundary.
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    /// Tags (`aws:PrincipalTag/KEY` in the role's sessions).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// When the role was created (RFC 3339); the server's start time when absent.
    #[serde(default)]
    pub created: Option<String>,
}

/// A customer managed policy.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ManagedPolicySpec {
    /// The policy name.
    pub name: String,
    /// The IAM path (default `/`).
    #[serde(default = "default_path")]
    pub path: String,
    /// The document of the default version, as YAML/JSON structure or JSON text.
    pub document: Value,
    /// When the policy was created (RFC 3339); the server's start time when absent.
    #[serde(default)]
    pub created: Option<String>,
    /// The id of the default version (default `v1`).
    #[serde(default = "default_version_id")]
    pub default_version_id: String,
    /// The versions other than the default one (IAM keeps up to five in all).
    #[serde(default)]
    pub other_versions: Vec<PolicyVersionSpec>,
}

/// A non-default version of a customer managed policy.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyVersionSpec {
    /// `v2`, `v3`, …
    pub version_id: String,
    /// The document.
    pub document: Value,
    /// When the version was created (RFC 3339).
    #[serde(default)]
    pub created: Option<String>,
}

/// An access key id and secret.
#[derive(Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccessKeySpec {
    /// The access key id (`AKIA…`).
    pub id: String,
    /// The secret access key.
    pub secret: String,
    /// `Active` (default) or `Inactive`.
    #[serde(default)]
    pub status: KeyStatus,
    /// When the key was created (RFC 3339); the server's start time when absent.
    #[serde(default)]
    pub created: Option<String>,
}

impl std::fmt::Debug for AccessKeySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKeySpec")
            .field("id", &self.id)
            .field("secret", &crate::redact::REDACTED)
            .field("status", &self.status)
            .field("created", &self.created)
            .finish()
    }
}

/// Whether a key can be used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum KeyStatus {
    /// Usable.
    #[default]
    Active,
    /// Refused as if unknown.
    Inactive,
}

fn default_partition() -> String {
    "aws".into()
}
fn default_region() -> String {
    "us-east-1".into()
}
fn default_path() -> String {
    "/".into()
}
fn default_vpc_cidr() -> String {
    "10.0.0.0/16".into()
}
fn default_architecture() -> String {
    "x86_64".into()
}
fn default_image_state() -> String {
    "available".into()
}
fn default_instance_type() -> String {
    "t3.micro".into()
}
fn default_instance_state() -> String {
    "running".into()
}
fn default_version_id() -> String {
    "v1".into()
}
fn default_max_session() -> u32 {
    3600
}

/// Why a world could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// The file could not be read.
    #[error("cannot read world file `{path}`")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The YAML is malformed or does not fit the schema (the message has line and column).
    #[error("invalid world{}: {message}", file.as_ref().map(|f| format!(" file `{f}`")).unwrap_or_default())]
    Yaml {
        /// The file, when the world came from one.
        file: Option<String>,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A propagation setting is out of range.
    #[error("world: {0}")]
    Propagation(#[from] crate::propagation::PropagationError),
    /// A fault rule is invalid.
    #[error("world: fault rule: {0}")]
    Fault(#[from] crate::faults::FaultError),
    /// The world is well-formed but inconsistent.
    #[error("world: {context}: {message}")]
    Invalid {
        /// Where: `account 111111111111, user admin`.
        context: String,
        /// What is wrong.
        message: String,
    },
    /// A policy document is invalid.
    #[error("world: {context}")]
    Policy {
        /// Which policy.
        context: String,
        /// Why.
        #[source]
        source: PolicyError,
    },
}

/// A well-known default identity of the default world.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DefaultIdentity {
    /// The account id.
    pub account: &'static str,
    /// The partition id.
    pub partition: &'static str,
    /// The IAM user name.
    pub user: &'static str,
    /// The access key id.
    pub access_key_id: &'static str,
    /// The secret access key (public example values from AWS's documentation).
    pub secret_access_key: &'static str,
}

impl std::fmt::Debug for DefaultIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefaultIdentity")
            .field("account", &self.account)
            .field("partition", &self.partition)
            .field("user", &self.user)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &crate::redact::REDACTED)
            .finish()
    }
}

impl DefaultIdentity {
    /// The user's ARN.
    pub fn arn(&self) -> String {
        crate::arn::iam_entity(self.partition, self.account, "user", "/", self.user)
    }
}

/// The identities of the default world: an administrator in two standard accounts and one
/// GovCloud account.
pub const DEFAULT_IDENTITIES: [DefaultIdentity; 3] = [
    DefaultIdentity {
        account: "111111111111",
        partition: "aws",
        user: "admin",
        access_key_id: "AKIAIOSFODNN7EXAMPLE",
        secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    },
    DefaultIdentity {
        account: "222222222222",
        partition: "aws",
        user: "admin",
        access_key_id: "AKIAI44QH8DHBEXAMPLE",
        secret_access_key: "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
    },
    DefaultIdentity {
        account: "333333333333",
        partition: "aws-us-gov",
        user: "admin",
        access_key_id: "AKIAGOVCLOUDEXAMPLE1",
        secret_access_key: "govEXAMPLEsecretKEYgovEXAMPLEsecretKEY01",
    },
];

impl World {
    /// The default world: [`DEFAULT_IDENTITIES`], each an IAM user `admin` with
    /// `AdministratorAccess`.
    pub fn default_world() -> Self {
        World {
            accounts: DEFAULT_IDENTITIES
                .iter()
                .map(|d| AccountSpec {
                    id: d.account.into(),
                    partition: d.partition.into(),
                    opted_in_regions: Vec::new(),
                    root_access_keys: Vec::new(),
                    users: imbl::vector![UserSpec {
                        name: d.user.into(),
                        path: "/".into(),
                        managed_policies: vec!["AdministratorAccess".into()],
                        inline_policies: BTreeMap::new(),
                        access_keys: vec![AccessKeySpec {
                            id: d.access_key_id.into(),
                            secret: d.secret_access_key.into(),
                            status: KeyStatus::Active,
                            created: None,
                        }],
                        created: None,
                        groups: Vec::new(),
                        permissions_boundary: None,
                        tags: BTreeMap::new(),
                    }],
                    groups: Entities::new(),
                    roles: Entities::new(),
                    policies: Entities::new(),
                    instance_profiles: Entities::new(),
                    open_id_connect_providers: Entities::new(),
                    ec2: BTreeMap::new(),
                })
                .collect(),
            ..World::default()
        }
    }

    /// Parses a world from YAML text.
    ///
    /// Fails when the YAML is malformed or does not fit the schema; consistency (unique
    /// keys, valid policies) is checked when a server starts with it.
    pub fn from_yaml(text: &str) -> Result<Self, WorldError> {
        // Worlds of tens of thousands of users, roles and policies are millions of YAML
        // nodes; the parser's default budget (250,000 nodes) guards untrusted input, and a
        // world file is the operator's own. Aliases stay bounded.
        let options = serde_saphyr::options! {
            budget: serde_saphyr::budget! {
                max_nodes: 50_000_000,
                max_events: 100_000_000,
            },
        };
        serde_saphyr::from_str_with_options(text, options).map_err(|e| WorldError::Yaml {
            file: None,
            message: e.to_string(),
        })
    }

    /// Reads and parses a world file. Fails when it cannot be read or parsed.
    pub fn load(path: &Path) -> Result<Self, WorldError> {
        let text = std::fs::read_to_string(path).map_err(|source| WorldError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_yaml(&text).map_err(|e| match e {
            WorldError::Yaml { message, .. } => WorldError::Yaml {
                file: Some(path.display().to_string()),
                message,
            },
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_worlds_parse_with_defaults() {
        let world = World::from_yaml(
            "accounts:\n  - id: \"444444444444\"\n    users:\n      - name: ci\n        access_keys:\n          - {id: AKIAEXAMPLECI0000001, secret: s3cr3t}\n",
        );
        let world = world.unwrap_or_else(|e| panic!("{e}"));
        let account = &world.accounts[0];
        assert_eq!(account.partition, "aws");
        assert_eq!(account.users[0].path, "/");
        assert_eq!(account.users[0].access_keys[0].status, KeyStatus::Active);
    }

    #[test]
    fn large_worlds_parse_past_the_default_node_budget() {
        // 40,000 users of eight nodes each: past serde-saphyr's default 250,000 nodes.
        let users: String = (0..40_000)
            .map(|i| format!("{{name: u{i}, path: /, managed_policies: [a, b]}},"))
            .collect();
        let yaml = format!("accounts: [{{id: '111111111111', users: [{users}]}}]");
        let world = World::from_yaml(&yaml).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(world.accounts[0].users.len(), 40_000);
    }

    #[test]
    fn unknown_fields_are_errors_with_a_location() {
        let err = World::from_yaml("accounts:\n  - id: \"1\"\n    userz: []\n").err();
        let msg = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("userz"), "{msg}");
        assert!(msg.contains('3'), "line number expected: {msg}");
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let world = World::default_world();
        let text = format!("{world:?} {:?}", DEFAULT_IDENTITIES);
        for id in &DEFAULT_IDENTITIES {
            assert!(!text.contains(id.secret_access_key), "{text}");
        }
    }
}
