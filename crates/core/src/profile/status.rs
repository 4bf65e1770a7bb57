//! Status references carried by the credential: `BitstringStatusListEntry` items for `vc+jwt`
//! (W3C Bitstring Status List, rule B1) and `status.status_list {idx, uri}` for `dc+sd-jwt`
//! (IETF Token Status List, rule T3). Encoding and checking the lists themselves is the
//! credentials crate's job.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use url::Url;

use super::ProfileError;
use crate::client_id::https_url;

/// The W3C entry type (B1).
pub const BITSTRING_ENTRY_TYPE: &str = "BitstringStatusListEntry";

/// Where a `vc+jwt` credential's status lives: one index, one list credential per purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitstringStatusRef {
    /// URL of the list credential for purpose `revocation`.
    pub revocation_list: String,
    /// URL of the list credential for purpose `suspension`.
    pub suspension_list: String,
    /// Index in both lists.
    pub index: u64,
}

impl BitstringStatusRef {
    /// The same list URL and index for both purposes (a list credential that carries both
    /// purposes, B1 §2.1 "multiple status purposes in a single list").
    pub fn single_list(list_url: impl Into<String>, index: u64) -> Self {
        let list = list_url.into();
        Self {
            revocation_list: list.clone(),
            suspension_list: list,
            index,
        }
    }

    /// The two `credentialStatus` entries, revocation first. Each entry `id` is
    /// `<list>#<purpose>-<index>`, never the list URL itself (B1).
    pub fn to_entries(&self) -> Vec<Value> {
        [
            (StatusPurpose::Revocation, &self.revocation_list),
            (StatusPurpose::Suspension, &self.suspension_list),
        ]
        .into_iter()
        .map(|(purpose, list)| {
            json!({
                "id": format!("{list}#{}-{}", purpose.as_str(), self.index),
                "type": BITSTRING_ENTRY_TYPE,
                "statusPurpose": purpose.as_str(),
                "statusListIndex": self.index.to_string(),
                "statusListCredential": list,
            })
        })
        .collect()
    }
}

/// `statusPurpose` (B1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StatusPurpose {
    /// Irreversible cancellation.
    Revocation,
    /// Reversible hold.
    Suspension,
    /// A refreshed credential is available.
    Refresh,
    /// An arbitrary message.
    Message,
    /// Any other purpose (allowed by B1, ignored by this profile).
    Other(String),
}

impl StatusPurpose {
    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Revocation => "revocation",
            Self::Suspension => "suspension",
            Self::Refresh => "refresh",
            Self::Message => "message",
            Self::Other(s) => s,
        }
    }

    /// Parses the wire value.
    pub fn parse(s: &str) -> Self {
        match s {
            "revocation" => Self::Revocation,
            "suspension" => Self::Suspension,
            "refresh" => Self::Refresh,
            "message" => Self::Message,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// A parsed and checked `BitstringStatusListEntry` (B1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitstringStatusEntry {
    /// The entry `id`, if present.
    pub id: Option<String>,
    /// `statusPurpose`.
    pub purpose: StatusPurpose,
    /// `statusListIndex`.
    pub index: u64,
    /// `statusListCredential` (an https URL).
    pub list_credential: Url,
    /// `statusListCredential` exactly as written.
    pub list_credential_raw: String,
    /// `statusSize` (default 1).
    pub status_size: u64,
}

impl BitstringStatusEntry {
    /// Parses entry `position` of `credentialStatus`. `Ok(None)` for an entry of another `type`
    /// (J5: unknown status types are ignored).
    pub fn parse(position: usize, entry: &Value) -> Result<Option<Self>, ProfileError> {
        let invalid = |reason| ProfileError::InvalidStatusEntry {
            index: position,
            reason,
        };
        let obj: &Map<String, Value> = entry.as_object().ok_or(invalid("not an object"))?;
        match obj.get("type") {
            Some(Value::String(t)) if t == BITSTRING_ENTRY_TYPE => {}
            Some(Value::String(_)) => return Ok(None),
            _ => return Err(invalid("`type` missing or not a string")),
        }
        let purpose = obj
            .get("statusPurpose")
            .and_then(Value::as_str)
            .ok_or(invalid("`statusPurpose` missing or not a string"))?;
        let index_str = obj
            .get("statusListIndex")
            .and_then(Value::as_str)
            .ok_or(invalid("`statusListIndex` must be a base-10 string"))?;
        if index_str.is_empty() || !index_str.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("`statusListIndex` must be a base-10 string"));
        }
        let index = index_str
            .parse::<u64>()
            .map_err(|_| invalid("`statusListIndex` is too large"))?;
        let list_raw = obj
            .get("statusListCredential")
            .and_then(Value::as_str)
            .ok_or(invalid("`statusListCredential` missing or not a string"))?;
        let list_credential = https_url(list_raw)
            .map_err(|_| invalid("`statusListCredential` is not an https URL"))?;
        let id = match obj.get("id") {
            None => None,
            Some(Value::String(id)) if id == list_raw => {
                return Err(invalid("entry `id` must not be the status list URL (B1)"));
            }
            Some(Value::String(id)) => Some(id.clone()),
            Some(_) => return Err(invalid("`id` is not a string")),
        };
        let status_size = match obj.get("statusSize") {
            None => 1,
            Some(v) => v
                .as_u64()
                .filter(|n| *n > 0)
                .ok_or(invalid("`statusSize` must be an integer > 0"))?,
        };
        if status_size > 1 && !obj.get("statusMessage").is_some_and(Value::is_array) {
            return Err(invalid(
                "`statusMessage` is required when statusSize > 1 (B1)",
            ));
        }
        Ok(Some(Self {
            id,
            purpose: StatusPurpose::parse(purpose),
            index,
            list_credential,
            list_credential_raw: list_raw.to_owned(),
            status_size,
        }))
    }
}

/// `status.status_list {idx, uri}` of an SD-JWT VC (T3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenStatusRef {
    /// Index in the list.
    pub idx: u64,
    /// URL of the Status List Token (its `sub`).
    pub uri: String,
}

impl TokenStatusRef {
    /// The `status` claim value: `{"status_list": {"idx": …, "uri": …}}`.
    pub fn to_status_claim(&self) -> Value {
        json!({ "status_list": { "idx": self.idx, "uri": self.uri } })
    }

    /// Reads the `status` claim (T3: `idx` a non-negative integer, `uri` an https URL).
    pub fn from_status_claim(status: &Value) -> Result<Self, ProfileError> {
        let invalid = |reason| ProfileError::InvalidStatusEntry { index: 0, reason };
        let list = status
            .get("status_list")
            .and_then(Value::as_object)
            .ok_or(invalid("`status.status_list` missing or not an object"))?;
        let idx = list
            .get("idx")
            .and_then(Value::as_u64)
            .ok_or(invalid("`idx` must be a non-negative integer (T3)"))?;
        let uri = list
            .get("uri")
            .and_then(Value::as_str)
            .ok_or(invalid("`uri` missing or not a string (T3)"))?;
        https_url(uri).map_err(|_| invalid("`uri` is not an https URL"))?;
        Ok(Self {
            idx,
            uri: uri.to_owned(),
        })
    }
}
