//! Strict JSON parsing: like `serde_json::from_slice::<Value>` but refuses duplicate object
//! members at any depth.
//!
//! RFC 8259 §4 leaves duplicate names undefined and parsers disagree (first wins, last wins,
//! error). For security documents (a CIMD with two `client_id` members, a credential with two
//! `credentialSubject`s) a disagreement between two parsers is an attack, so we refuse them.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::HashSet;

use serde_json::Value;

/// Why a byte string is not strict JSON.
#[derive(Debug, thiserror::Error)]
pub enum StrictJsonError {
    /// Not UTF-8, not JSON, trailing data, nesting too deep, or a duplicate member
    /// (the message names it).
    #[error("invalid JSON: {0}")]
    Syntax(#[from] serde_json::Error),
}

impl StrictJsonError {
    /// True if the failure is a duplicate object member.
    pub fn is_duplicate_member(&self) -> bool {
        match self {
            Self::Syntax(e) => e.to_string().starts_with(DUPLICATE_PREFIX),
        }
    }
}

const DUPLICATE_PREFIX: &str = "duplicate JSON object member";

/// A pass over the document that only looks for duplicate member names.
///
/// The value itself is then parsed by `serde_json` proper. Building the `Value` here instead would
/// re-implement number handling, and that differs between builds: when any crate in the graph
/// enables serde_json's `arbitrary_precision` feature (ssi does), numbers reach a visitor as a
/// private one-member map — a custom value visitor then silently mis-parses `1.5`.
struct NoDuplicates;

impl<'de> de::Deserialize<'de> for NoDuplicates {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NoDuplicatesVisitor)
    }
}

struct NoDuplicatesVisitor;

impl<'de> Visitor<'de> for NoDuplicatesVisitor {
    type Value = NoDuplicates;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_i64<E>(self, _: i64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_u64<E>(self, _: u64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_f64<E>(self, _: f64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_str<E>(self, _: &str) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_unit<E>(self) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_none<E>(self) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NoDuplicates, A::Error> {
        while seq.next_element::<NoDuplicates>()?.is_some() {}
        Ok(NoDuplicates)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NoDuplicates, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            map.next_value::<NoDuplicates>()?;
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format_args!(
                    "{DUPLICATE_PREFIX} {key:?}"
                )));
            }
        }
        Ok(NoDuplicates)
    }
}

/// Parses `bytes` as one JSON value, refusing duplicate object members and trailing data.
pub fn from_slice(bytes: &[u8]) -> Result<Value, StrictJsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let NoDuplicates = de::Deserialize::deserialize(&mut de)?;
    de.end()?;
    Ok(serde_json::from_slice(bytes)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_members_are_refused_at_any_depth() {
        let e = from_slice(br#"{"a":1,"a":2}"#).unwrap_err();
        assert!(e.is_duplicate_member(), "{e}");
        let e = from_slice(br#"{"x":[{"b":{"c":1,"c":1}}]}"#).unwrap_err();
        assert!(e.is_duplicate_member(), "{e}");
    }

    #[test]
    fn values_parse_like_serde_json_and_keep_member_order() {
        let text = br#"{"z":1,"a":[true,null,-3,1.5,"s",18446744073709551615],"m":{}}"#;
        let strict = from_slice(text).unwrap();
        let plain: Value = serde_json::from_slice(text).unwrap();
        assert_eq!(strict, plain);
        assert_eq!(strict.as_object().unwrap().keys().next().unwrap(), "z");
    }

    #[test]
    fn trailing_data_and_garbage_are_refused() {
        assert!(from_slice(b"{} {}").is_err());
        assert!(!from_slice(b"{").unwrap_err().is_duplicate_member());
        assert!(from_slice(&[0xff, 0xfe]).is_err());
    }
}
