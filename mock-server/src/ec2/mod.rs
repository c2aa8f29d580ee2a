//! Amazon EC2: the calls a connector makes (DescribeRegions first of all).

pub(crate) mod api;
