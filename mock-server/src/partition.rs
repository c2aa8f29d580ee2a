//! AWS partitions and their regions.
//!
//! A partition (`aws`, `aws-us-gov`, `aws-cn`) is a separate copy of AWS: its own accounts,
//! access keys, ARN prefix and DNS suffix. Credentials of one partition are unknown in
//! another, which is why a GovCloud key signed for `us-east-1` is refused. This module owns
//! the region table and the region → partition mapping; it knows nothing of requests.

use std::fmt;

/// One AWS partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Partition {
    /// The standard commercial partition, `aws`.
    Aws,
    /// AWS GovCloud (US), `aws-us-gov`.
    AwsUsGov,
    /// AWS China, `aws-cn`.
    AwsCn,
}

/// Whether an account must opt in to a region before using it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptIn {
    /// Enabled in every account (`opt-in-not-required`).
    NotRequired,
    /// Disabled until the account opts in (`opted-in` / `not-opted-in`).
    Required,
}

/// A region of a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// The region code, such as `us-east-1`.
    pub name: &'static str,
    /// The partition the region belongs to.
    pub partition: Partition,
    /// Whether accounts must opt in to it.
    pub opt_in: OptIn,
    /// The EC2 endpoint host, e.g. `ec2.us-east-1.amazonaws.com`.
    pub ec2_endpoint: &'static str,
}

macro_rules! regions {
    ($partition:ident, $suffix:literal: $($name:literal $opt:ident),* $(,)?) => {
        &[$(Region {
            name: $name,
            partition: Partition::$partition,
            opt_in: OptIn::$opt,
            ec2_endpoint: concat!("ec2.", $name, ".", $suffix),
        }),*]
    };
}

// Source: the partition tables shipped with the AWS SDKs (botocore `endpoints.json`,
// smithy `partitions.json`) and EC2 DescribeRegions output. Opt-in regions are those launched
// after March 2019.
const AWS_REGIONS: &[Region] = regions!(Aws, "amazonaws.com":
    "af-south-1" Required,
    "ap-east-1" Required,
    "ap-east-2" Required,
    "ap-northeast-1" NotRequired,
    "ap-northeast-2" NotRequired,
    "ap-northeast-3" NotRequired,
    "ap-south-1" NotRequired,
    "ap-south-2" Required,
    "ap-southeast-1" NotRequired,
    "ap-southeast-2" NotRequired,
    "ap-southeast-3" Required,
    "ap-southeast-4" Required,
    "ap-southeast-5" Required,
    "ap-southeast-6" Required,
    "ap-southeast-7" Required,
    "ca-central-1" NotRequired,
    "ca-west-1" Required,
    "eu-central-1" NotRequired,
    "eu-central-2" Required,
    "eu-north-1" NotRequired,
    "eu-south-1" Required,
    "eu-south-2" Required,
    "eu-west-1" NotRequired,
    "eu-west-2" NotRequired,
    "eu-west-3" NotRequired,
    "il-central-1" Required,
    "me-central-1" Required,
    "me-south-1" Required,
    "mx-central-1" Required,
    "sa-east-1" NotRequired,
    "us-east-1" NotRequired,
    "us-east-2" NotRequired,
    "us-west-1" NotRequired,
    "us-west-2" NotRequired,
);

const GOV_REGIONS: &[Region] = regions!(AwsUsGov, "amazonaws.com":
    "us-gov-east-1" NotRequired,
    "us-gov-west-1" NotRequired,
);

const CN_REGIONS: &[Region] = regions!(AwsCn, "amazonaws.com.cn":
    "cn-north-1" NotRequired,
    "cn-northwest-1" NotRequired,
);

impl Partition {
    /// Every partition.
    pub const ALL: [Partition; 3] = [Partition::Aws, Partition::AwsUsGov, Partition::AwsCn];

    /// The partition id as it appears in ARNs (`aws`, `aws-us-gov`, `aws-cn`).
    pub fn id(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsUsGov => "aws-us-gov",
            Partition::AwsCn => "aws-cn",
        }
    }

    /// Parses a partition id.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.id() == id)
    }

    /// The partition's DNS suffix (`amazonaws.com`, `amazonaws.com.cn`).
    pub fn dns_suffix(self) -> &'static str {
        match self {
            Partition::Aws | Partition::AwsUsGov => "amazonaws.com",
            Partition::AwsCn => "amazonaws.com.cn",
        }
    }

    /// The partition's regions, sorted by name.
    pub fn regions(self) -> &'static [Region] {
        match self {
            Partition::Aws => AWS_REGIONS,
            Partition::AwsUsGov => GOV_REGIONS,
            Partition::AwsCn => CN_REGIONS,
        }
    }

    /// The region a client of this partition uses when it has no better choice.
    pub fn default_region(self) -> &'static str {
        match self {
            Partition::Aws => "us-east-1",
            Partition::AwsUsGov => "us-gov-west-1",
            Partition::AwsCn => "cn-north-1",
        }
    }

    /// The partition of a region code, if the region exists. Accepts the pseudo-regions
    /// SDKs sign global endpoints with (`aws-global`, `aws-us-gov-global`, `aws-cn-global`).
    pub fn of_region(region: &str) -> Option<Self> {
        Region::find(region).map(|r| r.partition).or(match region {
            "aws-global" => Some(Partition::Aws),
            "aws-us-gov-global" => Some(Partition::AwsUsGov),
            "aws-cn-global" => Some(Partition::AwsCn),
            _ => None,
        })
    }
}

impl Region {
    /// Looks a region up by code.
    pub fn find(name: &str) -> Option<&'static Region> {
        // Each partition's codes have their own prefix: one table to search.
        let partition = if name.starts_with("us-gov-") {
            Partition::AwsUsGov
        } else if name.starts_with("cn-") {
            Partition::AwsCn
        } else {
            Partition::Aws
        };
        let regions = partition.regions();
        regions
            .binary_search_by(|r| r.name.cmp(name))
            .ok()
            .map(|i| &regions[i])
    }
}

impl AsRef<str> for Partition {
    fn as_ref(&self) -> &str {
        self.id()
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_tables_are_sorted_for_binary_search() {
        for p in Partition::ALL {
            let names: Vec<_> = p.regions().iter().map(|r| r.name).collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            assert_eq!(names, sorted, "{p}");
        }
    }

    #[test]
    fn every_region_is_found_in_its_own_partition() {
        for p in Partition::ALL {
            for r in p.regions() {
                let found = Region::find(r.name).map(|f| (f.name, f.partition));
                assert_eq!(found, Some((r.name, p)));
            }
        }
    }

    #[test]
    fn regions_map_to_their_partition() {
        assert_eq!(Partition::of_region("us-east-1"), Some(Partition::Aws));
        assert_eq!(
            Partition::of_region("us-gov-west-1"),
            Some(Partition::AwsUsGov)
        );
        assert_eq!(
            Partition::of_region("cn-northwest-1"),
            Some(Partition::AwsCn)
        );
        assert_eq!(Partition::of_region("aws-global"), Some(Partition::Aws));
        assert_eq!(Partition::of_region("us-fake-1"), None);
    }

    #[test]
    fn endpoints_use_the_partition_dns_suffix() {
        for p in Partition::ALL {
            for r in p.regions() {
                assert_eq!(r.ec2_endpoint, format!("ec2.{}.{}", r.name, p.dns_suffix()));
            }
        }
        let cn = Region::find("cn-north-1").map(|r| r.ec2_endpoint);
        assert_eq!(cn, Some("ec2.cn-north-1.amazonaws.com.cn"));
    }
}
