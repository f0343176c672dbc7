//! Marks: the signed token a label carries ([`token`]) and the QR image that carries it ([`qr`]).

pub mod qr;
pub mod token;
