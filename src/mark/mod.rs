//! Marks: the signed token a label carries ([`token`]), the QR image that carries it ([`qr`]), and
//! the CSV export of a whole batch's tokens and label URLs for the printing house ([`export`]).

pub mod export;
pub mod qr;
pub mod token;
