//! OAuth scopes (RFC 6749 §3.3): the validated [`Scope`] token and the [`ScopeSet`].
//!
//! ```text
//! scope       = scope-token *( SP scope-token )
//! scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
//! ```
//! Parsing is strict: tokens are separated by exactly one space, with no leading or trailing
//! space. The empty string is the empty set (no scope requested). Duplicates are allowed on input
//! and collapse (RFC 6749: the order does not matter). On JSON the set is an array of strings.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a scope or scope string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// A scope-token must have at least one character (RFC 6749 §3.3).
    #[error("empty scope token (RFC 6749 §3.3)")]
    Empty,
    /// A character outside %x21 / %x23-5B / %x5D-7E (space, `"`, `\`, control or non-ASCII).
    #[error("character {ch:?} at byte {index} is not allowed in a scope token (RFC 6749 §3.3)")]
    InvalidCharacter {
        /// The offending character.
        ch: char,
        /// Its byte offset in the input.
        index: usize,
    },
    /// Two spaces in a row, or a leading or trailing space, in a space-delimited scope string.
    #[error(
        "scope string has an empty token at byte {index}: tokens are separated by exactly one space (RFC 6749 §3.3)"
    )]
    EmptyToken {
        /// Byte offset where the empty token starts.
        index: usize,
    },
}

/// One validated scope-token (RFC 6749 §3.3), e.g. `logs:read`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(String);

fn is_scope_char(c: char) -> bool {
    matches!(c, '\u{21}' | '\u{23}'..='\u{5B}' | '\u{5D}'..='\u{7E}')
}

impl Scope {
    /// Validates one scope token.
    pub fn parse(token: &str) -> Result<Self, ScopeError> {
        Self::parse_at(token, 0)
    }

    fn parse_at(token: &str, offset: usize) -> Result<Self, ScopeError> {
        if token.is_empty() {
            return Err(ScopeError::Empty);
        }
        if let Some((index, ch)) = token.char_indices().find(|(_, c)| !is_scope_char(*c)) {
            return Err(ScopeError::InvalidCharacter {
                ch,
                index: offset + index,
            });
        }
        Ok(Self(token.to_owned()))
    }

    /// The token text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Scope {
    type Err = ScopeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for Scope {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Scope::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A set of scopes, kept sorted so rendering is deterministic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a space-delimited scope string (the OAuth `scope` parameter / metadata member).
    /// `""` is the empty set.
    pub fn parse(s: &str) -> Result<Self, ScopeError> {
        let mut set = BTreeSet::new();
        if s.is_empty() {
            return Ok(Self(set));
        }
        let mut offset = 0;
        for token in s.split(' ') {
            if token.is_empty() {
                return Err(ScopeError::EmptyToken { index: offset });
            }
            set.insert(Scope::parse_at(token, offset)?);
            offset += token.len() + 1;
        }
        Ok(Self(set))
    }

    /// Builds a set from token strings, validating each.
    pub fn from_tokens<I, T>(tokens: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        tokens
            .into_iter()
            .map(|t| Scope::parse(t.as_ref()))
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Self)
    }

    /// The space-delimited form (sorted), e.g. `"logs:read logs:write"`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (i, scope) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(scope.as_str());
        }
        out
    }

    /// Scopes present in both sets.
    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        Self(self.0.intersection(&other.0).cloned().collect())
    }

    /// True if every scope of `self` is in `other`.
    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    /// True if the set holds `scope`.
    pub fn contains(&self, scope: &Scope) -> bool {
        self.0.contains(scope)
    }

    /// True if the set holds a scope with this text.
    pub fn contains_str(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s.as_str() == scope)
    }

    /// Adds a scope; returns false if it was already present.
    pub fn insert(&mut self, scope: Scope) -> bool {
        self.0.insert(scope)
    }

    /// Number of scopes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True if there is no scope.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The scopes in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::str::FromStr for ScopeSet {
    type Err = ScopeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a ScopeSet {
    type Item = &'a Scope;
    type IntoIter = std::collections::btree_set::Iter<'a, Scope>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for ScopeSet {
    type Item = Scope;
    type IntoIter = std::collections::btree_set::IntoIter<Scope>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl Serialize for ScopeSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter())
    }
}

impl<'de> Deserialize<'de> for ScopeSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let scopes = Vec::<Scope>::deserialize(deserializer)?;
        Ok(scopes.into_iter().collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
    #[test]
    fn rfc6749_scope_token_charset_boundaries() {
        for ok in ["!", "#", "[", "]", "~", "logs:read", "https://r.example/x"] {
            assert!(Scope::parse(ok).is_ok(), "{ok}");
        }
        for (bad, ch) in [
            ("a b", ' '),
            ("a\"b", '"'),
            ("a\\b", '\\'),
            ("a\u{7f}", '\u{7f}'),
            ("é", 'é'),
            ("a\tb", '\t'),
        ] {
            assert!(
                matches!(Scope::parse(bad), Err(ScopeError::InvalidCharacter { ch: c, .. }) if c == ch),
                "{bad:?}"
            );
        }
        assert_eq!(Scope::parse(""), Err(ScopeError::Empty));
    }

    #[test]
    fn rfc6749_scope_string_is_single_space_delimited() {
        let set = ScopeSet::parse("b a b").unwrap();
        assert_eq!(set.render(), "a b");
        assert_eq!(set.len(), 2);
        assert!(ScopeSet::parse("").unwrap().is_empty());
        for bad in [" a", "a ", "a  b", " "] {
            assert!(
                matches!(ScopeSet::parse(bad), Err(ScopeError::EmptyToken { .. })),
                "{bad:?}"
            );
        }
        assert_eq!(
            ScopeSet::parse("a b\"c"),
            Err(ScopeError::InvalidCharacter { ch: '"', index: 3 })
        );
    }

    #[test]
    fn scope_set_algebra() {
        let granted = ScopeSet::parse("logs:read logs:write admin").unwrap();
        let asked = ScopeSet::parse("logs:read metrics:read").unwrap();
        assert_eq!(granted.intersection(&asked).render(), "logs:read");
        assert!(!asked.is_subset(&granted));
        assert!(ScopeSet::parse("admin").unwrap().is_subset(&granted));
        assert!(ScopeSet::new().is_subset(&granted));
        assert!(granted.contains_str("admin"));
    }

    #[test]
    fn scope_set_json_is_an_array_and_validates() {
        let set: ScopeSet = serde_json::from_str(r#"["b","a","a"]"#).unwrap();
        assert_eq!(serde_json::to_string(&set).unwrap(), r#"["a","b"]"#);
        assert!(serde_json::from_str::<ScopeSet>(r#"["a b"]"#).is_err());
    }
}
