//! Authentication: SigV4 signature verification (`sigv4`) and resolving the signing key to
//! an identity (`keys`). Authorization is `policy`'s job.

pub(crate) mod keys;
pub(crate) mod sigv4;
