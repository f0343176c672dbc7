//! Verification of a mark: the verdict rules with their signature cache ([`check`]), the
//! answer's types ([`verdict`]), the page a phone opens at the label URL ([`page`]), and the
//! event a key's misuse raises ([`misuse`]).

pub mod page;
