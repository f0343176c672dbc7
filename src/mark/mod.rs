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

/// The proptest configuration of this module's property tests: seeded as `tests/it/props` is
/// (see its module doc), so every run tries the same cases, and `PROPTEST_RNG_SEED` picks
/// others; no failure files written into `src/`.
#[cfg(test)]
fn seeded(cases: u32) -> proptest::prelude::ProptestConfig {
    use proptest::prelude::ProptestConfig;
    use proptest::test_runner::RngSeed;
    ProptestConfig {
        rng_seed: match ProptestConfig::default().rng_seed {
            RngSeed::Random => RngSeed::Fixed(0x6d61_726b_7472_6163),
            chosen => chosen,
        },
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases)
    }
}
