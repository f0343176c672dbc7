//! Marks: the signed token a label carries ([`token`]), its label URLs ([`label`]), the QR image
//! that carries it ([`qr`]), the CSV export of a whole batch's tokens and label URLs for the
//! printing house ([`export`]) and its printable sheet ([`sheet`]). [`batch`] checks many
//! tokens' signatures at once, deciding each as the token's own check does.

pub mod batch;
pub mod export;
pub mod label;
pub mod qr;
pub mod sheet;
pub mod token;
