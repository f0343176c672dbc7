//! Verification of a mark: the verdict rules ([`check`]), the answer's types ([`verdict`]),
//! the page a phone opens at the label URL ([`page`]).

pub mod page;
pub mod verdict;
