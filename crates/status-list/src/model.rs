//! Domain types of the status-list service (no wire types): references, entries, formats,
//! published lists, actors.

use chrono::{DateTime, Utc};
use crossauthz_credentials::status::STATUS_LIST_JWT_MEDIA_TYPE;
use crossauthz_store::EntryState;
use uuid::Uuid;

use crate::StatusListError;

/// Media type of a W3C Bitstring Status List credential secured as `vc+jwt` (J1).
pub const VC_JWT_MEDIA_TYPE: &str = "application/vc+jwt";

/// Where a credential's status lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReference {
    /// The list.
    pub list_id: Uuid,
    /// The index in the list.
    pub index: u64,
    /// The public URL of the list (`<public_url>/status/<list_id>`): the Token Status List
    /// `uri` / `sub`, and the revocation `statusListCredential`.
    pub uri: String,
}

impl StatusReference {
    /// The URL of the suspension-purpose bitstring credential of this list.
    pub fn suspension_uri(&self) -> String {
        format!("{}/suspension", self.uri)
    }
}

/// An entry and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryStatus {
    /// Where it is.
    pub reference: StatusReference,
    /// Its state.
    pub state: EntryState,
    /// When it last changed (or was allocated).
    pub updated_at: DateTime<Utc>,
    /// The credential it was allocated for, when known.
    pub credential_id: Option<Uuid>,
}

/// Who asked for a change (for the audit log).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    /// The admin principal or service.
    pub subject: Option<String>,
    /// Why.
    pub reason: Option<String>,
}

/// The purpose of a W3C bitstring list (B1); we publish these two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BitstringPurpose {
    /// Bit set = revoked.
    Revocation,
    /// Bit set = suspended.
    Suspension,
}

impl BitstringPurpose {
    /// Parses the wire name; an empty purpose means revocation.
    pub fn parse(s: &str) -> Result<Self, StatusListError> {
        match s {
            "" | "revocation" => Ok(Self::Revocation),
            "suspension" => Ok(Self::Suspension),
            other => Err(StatusListError::UnsupportedPurpose(other.to_owned())),
        }
    }

    /// The B1 `statusPurpose` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Revocation => "revocation",
            Self::Suspension => "suspension",
        }
    }
}

/// One of the three published documents of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PublishedFormat {
    /// IETF Token Status List, 2 bits per entry, `statuslist+jwt`, at the list URL.
    TokenStatusList,
    /// W3C Bitstring Status List credential as `vc+jwt`: revocation at the list URL,
    /// suspension at `<list URL>/suspension`.
    Bitstring(BitstringPurpose),
}

impl PublishedFormat {
    /// The media type of the document.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::TokenStatusList => STATUS_LIST_JWT_MEDIA_TYPE,
            Self::Bitstring(_) => VC_JWT_MEDIA_TYPE,
        }
    }

    /// The URL the document is published at, given the list URL.
    pub fn url(self, list_uri: &str) -> String {
        match self {
            Self::TokenStatusList | Self::Bitstring(BitstringPurpose::Revocation) => {
                list_uri.to_owned()
            }
            Self::Bitstring(BitstringPurpose::Suspension) => format!("{list_uri}/suspension"),
        }
    }
}

/// A signed list, ready to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedList {
    /// `application/statuslist+jwt` or `application/vc+jwt`.
    pub media_type: &'static str,
    /// The compact JWS.
    pub body: String,
    /// Strong validator (quoted, as sent in `ETag`): base64url SHA-256 of the body.
    pub etag: String,
    /// How long a verifier may cache it, seconds.
    pub ttl_seconds: u64,
    /// When the signature expires (`exp` / `validUntil`).
    pub expires_at: DateTime<Utc>,
    /// The list version it renders.
    pub version: i64,
    /// When it was signed.
    pub signed_at: DateTime<Utc>,
}

/// Parses a list id (a UUID).
pub fn parse_list_id(s: &str) -> Result<Uuid, StatusListError> {
    Uuid::parse_str(s).map_err(|_| StatusListError::MalformedListId)
}

/// Parses an optional credential id: empty is "not known yet".
pub fn parse_credential_id(s: &str) -> Result<Option<Uuid>, StatusListError> {
    if s.is_empty() {
        return Ok(None);
    }
    Uuid::parse_str(s)
        .map(Some)
        .map_err(|_| StatusListError::MalformedCredentialId)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    // B1: statusPurpose names; only the two we publish are accepted.
    #[test]
    fn b1_purposes_parse_and_others_are_refused() {
        assert_eq!(
            BitstringPurpose::parse("revocation").unwrap(),
            BitstringPurpose::Revocation
        );
        assert_eq!(
            BitstringPurpose::parse("").unwrap(),
            BitstringPurpose::Revocation
        );
        assert_eq!(
            BitstringPurpose::parse("suspension").unwrap(),
            BitstringPurpose::Suspension
        );
        for bad in ["refresh", "message", "Revocation"] {
            assert!(matches!(
                BitstringPurpose::parse(bad),
                Err(StatusListError::UnsupportedPurpose(_))
            ));
        }
    }

    #[test]
    fn published_urls_and_media_types() {
        let uri = "https://a.example/status/x";
        assert_eq!(PublishedFormat::TokenStatusList.url(uri), uri);
        assert_eq!(
            PublishedFormat::Bitstring(BitstringPurpose::Revocation).url(uri),
            uri
        );
        assert_eq!(
            PublishedFormat::Bitstring(BitstringPurpose::Suspension).url(uri),
            "https://a.example/status/x/suspension"
        );
        assert_eq!(
            PublishedFormat::TokenStatusList.media_type(),
            "application/statuslist+jwt"
        );
        assert_eq!(
            PublishedFormat::Bitstring(BitstringPurpose::Suspension).media_type(),
            "application/vc+jwt"
        );
    }

    #[test]
    fn ids_parse_or_are_typed_errors() {
        assert!(matches!(
            parse_list_id("nope"),
            Err(StatusListError::MalformedListId)
        ));
        assert_eq!(parse_credential_id("").unwrap(), None);
        assert!(matches!(
            parse_credential_id("x"),
            Err(StatusListError::MalformedCredentialId)
        ));
    }

    proptest::proptest! {
        // Ids and purposes from the network parse or fail with a typed error, never panic.
        #[test]
        fn parsing_any_id_or_purpose_never_panics(s in ".*") {
            let _ = parse_list_id(&s);
            let _ = parse_credential_id(&s);
            let _ = BitstringPurpose::parse(&s);
        }
    }
}
