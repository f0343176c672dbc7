//! Marks: the signed token a label carries ([`token`]), the QR image that carries it ([`qr`]), and
//! the CSV export of a whole batch's tokens and label URLs for the printing house ([`export`]),
//! and the in-memory index of batches and range reports that answers what a serial is ([`index`]).
//! [`batch`] checks many tokens' signatures at once, deciding each as the token's own check does.

pub mod batch;
pub mod export;
pub mod label;
pub mod qr;
pub mod sheet;
pub mod token;
