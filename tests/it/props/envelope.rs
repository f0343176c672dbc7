//! The canonical envelope (SPEC.md "Log and transparency"): for any allowed field values, and
//! for any strings at all, `envelope` is valid JSON that parses back to the same eight fields,
//! and equals an RFC 8785 (JSON Canonicalization Scheme) serialisation written here: members
//! sorted by the UTF-16 code units of their names, no whitespace, integers in plain decimal,
//! strings with only the escapes §3.2.2.2 prescribes.

use marktrace::log::event::{EnvelopeFields, Visibility, envelope, envelope_leaf_hash};
use proptest::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A JSON string per RFC 8785 §3.2.2.2: `"` and `\` escaped, the five short escapes, other
/// controls as `\u00xx` in lower case, everything else as itself.
fn jcs_string(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

enum Member {
    Int(u64),
    Str(String),
}

/// An RFC 8785 object of integers and strings: members sorted by their names' UTF-16 code
/// units (§3.2.3), no whitespace.
fn jcs_object(mut members: Vec<(&str, Member)>) -> String {
    members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
    let members: Vec<String> = members
        .into_iter()
        .map(|(name, value)| {
            let value = match value {
                Member::Int(n) => n.to_string(),
                Member::Str(s) => jcs_string(&s),
            };
            format!("{}:{value}", jcs_string(name))
        })
        .collect();
    format!("{{{}}}", members.join(","))
}

#[derive(Debug)]
struct Owned {
    data_sha256: String,
    index: u64,
    recorded_at: String,
    schema: u32,
    stream: String,
    event_type: String,
    version: u64,
    visibility: Visibility,
}

impl Owned {
    fn fields(&self) -> EnvelopeFields<'_> {
        EnvelopeFields {
            data_sha256: &self.data_sha256,
            index: self.index,
            recorded_at: &self.recorded_at,
            schema: self.schema,
            stream: &self.stream,
            event_type: &self.event_type,
            version: self.version,
            visibility: self.visibility,
        }
    }

    fn canonical(&self) -> String {
        jcs_object(vec![
            (
                "visibility",
                Member::Str(visibility(self.visibility).into()),
            ),
            ("version", Member::Int(self.version)),
            ("type", Member::Str(self.event_type.clone())),
            ("stream", Member::Str(self.stream.clone())),
            ("schema", Member::Int(self.schema.into())),
            ("recorded_at", Member::Str(self.recorded_at.clone())),
            ("index", Member::Int(self.index)),
            ("data_sha256", Member::Str(self.data_sha256.clone())),
        ])
    }
}

fn visibility(v: Visibility) -> &'static str {
    match v {
        Visibility::Public => "public",
        Visibility::Confidential => "confidential",
    }
}

/// `recorded_at` as the log writes it: RFC 3339 UTC, six fractional digits, `Z`.
fn recorded_at() -> impl Strategy<Value = String> {
    (0_i64..253_402_300_800, 0_u32..1_000_000).prop_map(|(seconds, micros)| {
        let at = time::OffsetDateTime::from_unix_timestamp(seconds).unwrap()
            + time::Duration::microseconds(micros.into());
        let format = time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        );
        at.format(format).unwrap()
    })
}

/// Field values SPEC.md allows.
fn allowed() -> impl Strategy<Value = Owned> {
    (
        any::<[u8; 32]>(),
        any::<u64>(),
        recorded_at(),
        any::<u32>(),
        "[a-z0-9][a-z0-9._:-]{0,127}",
        "[A-Za-z][A-Za-z0-9_.]{0,63}",
        any::<u64>(),
        any::<bool>(),
    )
        .prop_map(
            |(data, index, recorded_at, schema, stream, event_type, version, public)| Owned {
                data_sha256: Sha256::digest(data)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect(),
                index,
                recorded_at,
                schema,
                stream,
                event_type,
                version,
                visibility: if public {
                    Visibility::Public
                } else {
                    Visibility::Confidential
                },
            },
        )
}

/// Any strings at all in the string fields: the escaping must still be RFC 8785's.
fn any_strings() -> impl Strategy<Value = Owned> {
    let text = || {
        prop_oneof![
            any::<String>(),
            "[\u{0}-\u{7f}]{0,20}",
            "[\"\\\\\u{0}-\u{1f}\u{7f}\u{2028}\u{2029}\u{fffd}]{0,10}"
        ]
    };
    (allowed(), text(), text(), text(), text()).prop_map(|(mut owned, a, b, c, d)| {
        owned.data_sha256 = a;
        owned.recorded_at = b;
        owned.stream = c;
        owned.event_type = d;
        owned
    })
}

fn check(owned: &Owned) -> Result<(), TestCaseError> {
    let text = envelope(&owned.fields());
    prop_assert_eq!(&text, &owned.canonical());

    let parsed: Value =
        serde_json::from_str(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
    let object = parsed.as_object().expect("an object");
    prop_assert_eq!(object.len(), 8);
    prop_assert_eq!(
        object["data_sha256"].as_str(),
        Some(owned.data_sha256.as_str())
    );
    prop_assert_eq!(object["index"].as_u64(), Some(owned.index));
    prop_assert_eq!(
        object["recorded_at"].as_str(),
        Some(owned.recorded_at.as_str())
    );
    prop_assert_eq!(object["schema"].as_u64(), Some(owned.schema.into()));
    prop_assert_eq!(object["stream"].as_str(), Some(owned.stream.as_str()));
    prop_assert_eq!(object["type"].as_str(), Some(owned.event_type.as_str()));
    prop_assert_eq!(object["version"].as_u64(), Some(owned.version));
    prop_assert_eq!(
        object["visibility"].as_str(),
        Some(visibility(owned.visibility))
    );

    let leaf = envelope_leaf_hash(&owned.fields());
    let expected: [u8; 32] = Sha256::new()
        .chain_update([0])
        .chain_update(&text)
        .finalize()
        .into();
    prop_assert_eq!(leaf, expected, "RFC 6962 leaf hash of the envelope");
    Ok(())
}

proptest! {
    #![proptest_config(super::config())]

    #[test]
    fn the_envelope_of_allowed_values_is_canonical_json(owned in allowed()) {
        check(&owned)?;
        let text = envelope(&owned.fields());
        // Allowed values need no escape and leave no room for whitespace.
        prop_assert!(!text.contains(['\\', ' ', '\n', '\t', '\r']), "{}", text);
        prop_assert!(text.len() < 65_535);
    }

    #[test]
    fn the_envelope_of_any_strings_is_rfc_8785_json(owned in any_strings()) {
        check(&owned)?;
    }
}
