//! Pure types and rules of the registry, parsed at the edge and trusted inside: no HTTP, no
//! SQL, no runtime.

pub mod access;
pub mod batch;
pub mod case;
pub mod certificate;
pub mod detection;
pub mod enterprise;
pub mod gtin;
pub mod issuer;
pub mod key;
pub mod penalty;
pub mod region;
pub mod report;
pub mod uscc;
pub mod verdict;

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
