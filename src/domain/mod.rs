//! Pure types and rules of the registry, parsed at the edge and trusted inside: no HTTP, no
//! SQL, no runtime.

pub mod access;
pub mod batch;
pub mod brand;
pub mod case;
pub mod certificate;
pub mod detection;
pub mod enterprise;
pub mod epcis;
pub mod gtin;
pub mod issuer;
pub mod key;
pub mod penalty;
pub mod region;
pub mod report;
pub mod snapshot;
pub mod uscc;
pub mod verdict;
pub mod watch;

/// Describes a value type that serialises as one string to the OpenAPI document: a named
/// schema of type string with the pattern every value matches.
macro_rules! string_schema {
    ($ty:ty, $pattern:literal, $description:literal) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::Type::String)
                    .pattern(Some($pattern))
                    .description(Some($description))
                    .into()
            }
        }

        impl utoipa::ToSchema for $ty {}
    };
}
use string_schema;

/// The proptest configuration of the crate's property tests: seeded as `tests/it/props` is
/// (see its module doc), so every run tries the same cases, and `PROPTEST_RNG_SEED` picks
/// others; no failure files written into `src/`.
#[cfg(test)]
pub(crate) fn seeded(cases: u32) -> proptest::prelude::ProptestConfig {
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
