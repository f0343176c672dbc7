//! Token v1 (SPEC.md "The mark").
