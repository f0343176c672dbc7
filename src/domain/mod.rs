//! Pure types and rules of the registry, parsed at the edge and trusted inside: no HTTP, no
//! SQL, no runtime.

pub mod access;
pub mod batch;
pub mod case;
pub mod certificate;
pub mod detection;
pub mod enterprise;
pub mod gtin;
pub mod issuer;
pub mod key;
pub mod penalty;
pub mod region;
pub mod report;
pub mod uscc;
pub mod verdict;
