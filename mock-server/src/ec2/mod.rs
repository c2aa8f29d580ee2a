//! Amazon EC2: the calls a connector and its deployment steps make. Regions and zones,
//! instances and their life on the server clock, images, tags, and the network and launch
//! resources instances use; each call authorized per resource as EC2 does, with `DryRun`.

pub(crate) mod api;
mod filters;
mod images;
mod instances;
pub(crate) mod model;
mod network;
mod regions;
mod tags;
