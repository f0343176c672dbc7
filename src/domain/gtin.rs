//! GTIN-14.
