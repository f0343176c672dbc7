//! Verification of a mark: the verdict rules ([`check`]), the answer's types ([`verdict`]).

pub mod verdict;
