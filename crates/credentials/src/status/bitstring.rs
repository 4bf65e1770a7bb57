//! W3C Bitstring Status List v1.0 codec and entry: the MSB-first bitstring with its
//! `encodedList` multibase encoding (§2.2, "u" + base64url-no-pad of GZIP), the
//! `BitstringStatusListEntry` a credential carries (§2.1), and the §3.2 error codes.
//!
//! Conformance: B1 (entry), B2 (bitstring layout, encoding, minimum size), B3 (error names and
//! RFC 9457 problem types). The list credential itself lives in `bitstring_credential`.

use serde::{Deserialize, Serialize};

use super::compression::{
    self, Container, DEFAULT_MAX_DECOMPRESSED_BYTES, InflateError, b64url_decode, b64url_encode,
};

/// Minimum number of entries of a status list (§2.2 / §3.2: 131,072, i.e. 16 KB of bits).
pub const MIN_ENTRIES: u64 = 131_072;

/// Prefix of the RFC 9457 problem `type` of every error of this spec (§3.5).
pub const PROBLEM_TYPE_PREFIX: &str = "https://www.w3.org/ns/credentials/status-list#";

/// The `type` of a status entry.
pub const ENTRY_TYPE: &str = "BitstringStatusListEntry";

/// Largest `statusSize` this implementation accepts (values then fit in a byte and
/// `statusMessage` has at most 256 items). Larger sizes are refused as malformed.
pub const MAX_STATUS_SIZE: u8 = 8;

/// A status check failed; the variants are exactly the error codes of §3.2 / §3.5 (B3).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BitstringStatusError {
    /// STATUS_RETRIEVAL_ERROR: the list could not be fetched. Raised by the caller that fetches.
    #[error("STATUS_RETRIEVAL_ERROR: {0}")]
    StatusRetrieval(String),
    /// STATUS_VERIFICATION_ERROR: the list does not verify or does not match the entry.
    #[error("STATUS_VERIFICATION_ERROR: {0}")]
    StatusVerification(StatusVerificationFailure),
    /// STATUS_LIST_LENGTH_ERROR: the list is shorter than the herd-privacy minimum.
    #[error(
        "STATUS_LIST_LENGTH_ERROR: the list has {entries} entries, at least {minimum} are required"
    )]
    StatusListLength {
        /// Entries in the list (bits / statusSize).
        entries: u64,
        /// The required minimum.
        minimum: u64,
    },
    /// RANGE_ERROR: the entry's index is outside the list.
    #[error("RANGE_ERROR: index {index} is outside a list of {entries} entries")]
    Range {
        /// The index as written in the entry.
        index: String,
        /// Entries in the list.
        entries: u64,
    },
    /// MALFORMED_VALUE_ERROR: a property breaks a MUST of §2.
    #[error("MALFORMED_VALUE_ERROR: {0}")]
    MalformedValue(MalformedValue),
}

/// Why a list failed verification (the detail of STATUS_VERIFICATION_ERROR).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StatusVerificationFailure {
    /// The entry's purpose is not a purpose of the list (§3.2 step 5).
    #[error("the entry's statusPurpose {entry} is not a purpose of the list")]
    PurposeMismatch {
        /// Purpose named by the entry.
        entry: StatusPurpose,
    },
    /// The list credential's signature or JOSE header is not acceptable.
    #[error("the status list credential does not verify: {0}")]
    Signature(#[source] crate::jose::JoseError),
    /// The list credential's JOSE header has no `kid`, so no key can be resolved.
    #[error("the status list credential has no kid")]
    MissingKid,
    /// `kid` is not a DID URL of the list credential's `issuer`.
    #[error("kid {kid} is not a key of the issuer {issuer}")]
    KidNotOfIssuer {
        /// The header `kid`.
        kid: String,
        /// The credential's `issuer`.
        issuer: String,
    },
    /// The issuer's key could not be resolved.
    #[error("the status list credential key could not be resolved: {0}")]
    KeyResolution(#[source] crate::jose::ResolveError),
    /// The list credential's `id` is not the URL the entry named.
    #[error("the status list credential id {found} is not the requested {expected}")]
    ListUrlMismatch {
        /// URL the entry's `statusListCredential` named.
        expected: String,
        /// `id` found in the list credential.
        found: String,
    },
    /// `validUntil` of the list credential has passed.
    #[error("the status list credential expired at {0}")]
    Expired(chrono::DateTime<chrono::Utc>),
    /// `validFrom` of the list credential is in the future.
    #[error("the status list credential is not valid before {0}")]
    NotYetValid(chrono::DateTime<chrono::Utc>),
}

/// Which property is malformed (the detail of MALFORMED_VALUE_ERROR).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MalformedValue {
    /// The JSON does not have the shape of the object (missing or mistyped members).
    #[error("invalid JSON structure: {0}")]
    Json(String),
    /// Entry `type` is not `BitstringStatusListEntry` (B1).
    #[error("B1: entry type must be BitstringStatusListEntry, got {0}")]
    EntryType(String),
    /// Entry `id` equals the status list URL (B1, §2.1).
    #[error("B1: entry id must not be the status list URL")]
    EntryIdIsListUrl,
    /// `statusListIndex` is not a base-10 string of digits (B1).
    #[error("B1: statusListIndex must be a base-10 integer string, got {0:?}")]
    StatusListIndex(String),
    /// `statusListCredential` is not a URL (B1).
    #[error("B1: statusListCredential is not a URL: {0}")]
    StatusListCredential(String),
    /// `statusSize` is zero or larger than supported.
    #[error("B1: statusSize must be between 1 and {max}, got {0}", max = MAX_STATUS_SIZE)]
    StatusSize(u64),
    /// `statusMessage` is missing where required or has the wrong number of items (B1).
    #[error("B1: statusMessage must have {expected} items, found {found}")]
    StatusMessageCount {
        /// 2^statusSize.
        expected: usize,
        /// Items present (0 when absent).
        found: usize,
    },
    /// A status value does not fit in `statusSize` bits.
    #[error("status value {value} does not fit in statusSize {size}")]
    StatusValue {
        /// The value.
        value: u8,
        /// The status size in bits.
        size: u8,
    },
    /// A `statusMessage.status` is not a `0x`-prefixed hex value in range.
    #[error("B1: statusMessage status {0:?} is not a 0x-prefixed hex value in range")]
    StatusMessageValue(String),
    /// `encodedList` does not start with the multibase base64url prefix `u` (B2).
    #[error("B2: encodedList must start with the multibase prefix 'u'")]
    EncodedListPrefix,
    /// `encodedList` is not unpadded base64url (B2).
    #[error("B2: encodedList is not unpadded base64url: {0}")]
    EncodedListBase64(String),
    /// `encodedList` is not GZIP (B2).
    #[error("B2: encodedList is not a GZIP stream: {0}")]
    EncodedListGzip(String),
    /// `encodedList` inflates past the cap (decompression bomb).
    #[error("encodedList inflates past the limit of {limit} bytes")]
    EncodedListTooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// The list credential lacks the type `BitstringStatusListCredential` (B2).
    #[error("B2: credential type must include BitstringStatusListCredential")]
    CredentialType,
    /// The list credential's subject type is not `BitstringStatusList` (B2).
    #[error("B2: credentialSubject.type must be BitstringStatusList")]
    SubjectType,
    /// A date (`validFrom`, `validUntil`) is not an XML Schema dateTimeStamp.
    #[error("{0} is not a date-time with a time zone")]
    Date(&'static str),
}

impl BitstringStatusError {
    /// The §3.2 error code, e.g. `STATUS_LIST_LENGTH_ERROR`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::StatusRetrieval(_) => "STATUS_RETRIEVAL_ERROR",
            Self::StatusVerification(_) => "STATUS_VERIFICATION_ERROR",
            Self::StatusListLength { .. } => "STATUS_LIST_LENGTH_ERROR",
            Self::Range { .. } => "RANGE_ERROR",
            Self::MalformedValue(_) => "MALFORMED_VALUE_ERROR",
        }
    }

    /// The RFC 9457 problem `type` URL (§3.5).
    pub fn problem_type(&self) -> String {
        format!("{PROBLEM_TYPE_PREFIX}{}", self.code())
    }

    /// A short human-readable title for the problem.
    pub fn title(&self) -> &'static str {
        match self {
            Self::StatusRetrieval(_) => "Retrieval of the status list failed",
            Self::StatusVerification(_) => "Validation of the status entry failed",
            Self::StatusListLength { .. } => {
                "The status list is shorter than the minimum required for herd privacy"
            }
            Self::Range { .. } => "The status list index is out of range",
            Self::MalformedValue(_) => "A status list value is malformed",
        }
    }

    /// An RFC 9457 problem details object `{type, title, detail}`. The detail is this error's
    /// message; callers that must not leak detail can send only `type` and `title`.
    pub fn problem_details(&self) -> serde_json::Value {
        serde_json::json!({
            "type": self.problem_type(),
            "title": self.title(),
            "detail": self.to_string(),
        })
    }

    /// Helper for callers that fetch lists: a STATUS_RETRIEVAL_ERROR with a reason.
    pub fn retrieval(reason: impl Into<String>) -> Self {
        Self::StatusRetrieval(reason.into())
    }
}

impl From<MalformedValue> for BitstringStatusError {
    fn from(m: MalformedValue) -> Self {
        Self::MalformedValue(m)
    }
}

impl From<StatusVerificationFailure> for BitstringStatusError {
    fn from(f: StatusVerificationFailure) -> Self {
        Self::StatusVerification(f)
    }
}

/// Number of bits per entry (`statusSize`, §2.1), 1 to [`MAX_STATUS_SIZE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusSize(u8);

impl StatusSize {
    /// One bit per entry, the default.
    pub const ONE: StatusSize = StatusSize(1);

    /// A status size, refused when 0 or above [`MAX_STATUS_SIZE`].
    pub fn new(bits: u64) -> Result<Self, MalformedValue> {
        match u8::try_from(bits) {
            Ok(b) if (1..=MAX_STATUS_SIZE).contains(&b) => Ok(Self(b)),
            _ => Err(MalformedValue::StatusSize(bits)),
        }
    }

    /// Bits per entry.
    pub fn get(self) -> u8 {
        self.0
    }

    /// Number of distinct values (2^size).
    pub fn values(self) -> usize {
        1usize << self.0
    }
}

impl Default for StatusSize {
    fn default() -> Self {
        Self::ONE
    }
}

/// An uncompressed bitstring. Index 0 is the left-most (most significant) bit of byte 0 (B2);
/// an entry of `statusSize` bits at index `i` occupies bits `i*size .. (i+1)*size`, read as a
/// big-endian number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitstring {
    bytes: Vec<u8>,
}

impl Bitstring {
    /// A bitstring of `bits` zero bits, rounded up to whole bytes.
    pub fn new(bits: u64) -> Self {
        let bytes = usize::try_from(bits.div_ceil(8)).unwrap_or(usize::MAX);
        Self {
            bytes: vec![0; bytes],
        }
    }

    /// A zeroed bitstring able to hold `entries` entries of `size` bits, never shorter than
    /// [`MIN_ENTRIES`] entries (§3.3 step 1: "minimum size of 16KB").
    pub fn for_entries(entries: u64, size: StatusSize) -> Self {
        let entries = entries.max(MIN_ENTRIES);
        Self::new(entries.saturating_mul(u64::from(size.get())))
    }

    /// A bitstring over raw bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self { bytes }
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Length in bits.
    pub fn len_bits(&self) -> u64 {
        u64::try_from(self.bytes.len())
            .unwrap_or(u64::MAX)
            .saturating_mul(8)
    }

    /// Number of whole entries of `size` bits.
    pub fn entries(&self, size: StatusSize) -> u64 {
        self.len_bits() / u64::from(size.get())
    }

    /// STATUS_LIST_LENGTH_ERROR when the list holds fewer than `minimum` entries of `size`.
    pub fn check_length(&self, size: StatusSize, minimum: u64) -> Result<(), BitstringStatusError> {
        let entries = self.entries(size);
        if entries < minimum {
            return Err(BitstringStatusError::StatusListLength { entries, minimum });
        }
        Ok(())
    }

    fn bit(&self, pos: u64) -> bool {
        let Ok(byte) = usize::try_from(pos / 8) else {
            return false;
        };
        let mask = 0x80u8 >> (pos % 8);
        self.bytes.get(byte).is_some_and(|b| b & mask != 0)
    }

    fn put_bit(&mut self, pos: u64, on: bool) {
        let Ok(byte) = usize::try_from(pos / 8) else {
            return;
        };
        let mask = 0x80u8 >> (pos % 8);
        if let Some(b) = self.bytes.get_mut(byte) {
            if on {
                *b |= mask;
            } else {
                *b &= !mask;
            }
        }
    }

    fn range_error(&self, index: u64, size: StatusSize) -> BitstringStatusError {
        BitstringStatusError::Range {
            index: index.to_string(),
            entries: self.entries(size),
        }
    }

    /// The value of entry `index` (RANGE_ERROR when outside the list).
    pub fn get(&self, index: u64, size: StatusSize) -> Result<u8, BitstringStatusError> {
        if index >= self.entries(size) {
            return Err(self.range_error(index, size));
        }
        let start = index * u64::from(size.get());
        let mut v = 0u8;
        for k in 0..u64::from(size.get()) {
            v = (v << 1) | u8::from(self.bit(start + k));
        }
        Ok(v)
    }

    /// Sets entry `index` to `value` (which must fit in `size` bits).
    pub fn set(
        &mut self,
        index: u64,
        size: StatusSize,
        value: u8,
    ) -> Result<(), BitstringStatusError> {
        if index >= self.entries(size) {
            return Err(self.range_error(index, size));
        }
        if usize::from(value) >= size.values() {
            return Err(MalformedValue::StatusValue {
                value,
                size: size.get(),
            }
            .into());
        }
        let n = u64::from(size.get());
        let start = index * n;
        for k in 0..n {
            let shift = n - 1 - k;
            self.put_bit(start + k, (value >> shift) & 1 == 1);
        }
        Ok(())
    }

    /// Single-bit read (statusSize 1).
    pub fn get_bit(&self, index: u64) -> Result<bool, BitstringStatusError> {
        self.get(index, StatusSize::ONE).map(|v| v == 1)
    }

    /// Single-bit write (statusSize 1).
    pub fn set_bit(&mut self, index: u64, on: bool) -> Result<(), BitstringStatusError> {
        self.set(index, StatusSize::ONE, u8::from(on))
    }

    /// The `encodedList` value: `u` + base64url-no-pad(GZIP(bitstring)) (B2).
    pub fn encode(&self) -> String {
        let gz = compression::compress(Container::Gzip, &self.bytes);
        format!("u{}", b64url_encode(&gz))
    }

    /// Decodes an `encodedList` with the default decompression cap.
    pub fn decode(encoded: &str) -> Result<Self, BitstringStatusError> {
        Self::decode_with_limit(encoded, DEFAULT_MAX_DECOMPRESSED_BYTES)
    }

    /// Decodes an `encodedList`, refusing one that inflates past `max_bytes`. Only the
    /// multibase prefix `u` (base64url, no padding) is accepted.
    pub fn decode_with_limit(
        encoded: &str,
        max_bytes: usize,
    ) -> Result<Self, BitstringStatusError> {
        let body = encoded
            .strip_prefix('u')
            .ok_or(MalformedValue::EncodedListPrefix)?;
        let gz =
            b64url_decode(body).map_err(|e| MalformedValue::EncodedListBase64(e.to_string()))?;
        let bytes =
            compression::decompress(Container::Gzip, &gz, max_bytes).map_err(|e| match e {
                InflateError::Corrupt(m) => MalformedValue::EncodedListGzip(m),
                InflateError::TooLarge { limit } => MalformedValue::EncodedListTooLarge { limit },
            })?;
        Ok(Self { bytes })
    }
}

/// `statusPurpose` (§2.1). The four purposes with defined meaning, or another string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StatusPurpose {
    /// Irreversible cancellation (B4).
    Revocation,
    /// Reversible suspension (B4).
    Suspension,
    /// An updated credential is available; does not invalidate.
    Refresh,
    /// An arbitrary message chosen from `statusMessage`.
    Message,
    /// Any other purpose string; its meaning is unknown to us.
    Other(String),
}

impl StatusPurpose {
    /// The wire string.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Revocation => "revocation",
            Self::Suspension => "suspension",
            Self::Refresh => "refresh",
            Self::Message => "message",
            Self::Other(s) => s,
        }
    }
}

impl From<&str> for StatusPurpose {
    fn from(s: &str) -> Self {
        match s {
            "revocation" => Self::Revocation,
            "suspension" => Self::Suspension,
            "refresh" => Self::Refresh,
            "message" => Self::Message,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl std::fmt::Display for StatusPurpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for StatusPurpose {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for StatusPurpose {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Self::from(s.as_str()))
    }
}

/// One item of `statusMessage` (§2.1): a `0x`-prefixed hex status and its debugging message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusMessage {
    /// Hex value prefixed with `0x`, e.g. `"0x2"`.
    pub status: String,
    /// Developer-facing message.
    pub message: String,
}

impl StatusMessage {
    /// The numeric value of `status`, if it is `0x` followed by hex digits.
    pub fn value(&self) -> Option<u64> {
        let hex = self.status.strip_prefix("0x")?;
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(hex, 16).ok()
    }
}

/// A `credentialStatus` entry of type `BitstringStatusListEntry` (§2.1, B1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BitstringStatusListEntry {
    /// Optional identifier; must not be the list URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Always `BitstringStatusListEntry`.
    #[serde(rename = "type")]
    pub type_: String,
    /// What a set bit means.
    pub status_purpose: StatusPurpose,
    /// Base-10 index string.
    pub status_list_index: String,
    /// URL of the status list credential.
    pub status_list_credential: String,
    /// Bits per entry; absent means 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_size: Option<u64>,
    /// Messages for each value; required when `statusSize` > 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<Vec<StatusMessage>>,
    /// URL(s) with material about the status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reference: Option<serde_json::Value>,
}

impl BitstringStatusListEntry {
    /// A one-bit entry for `purpose` at `index` of the list at `list_url`, with
    /// `id = list_url#index` (never equal to the list URL).
    pub fn new(purpose: StatusPurpose, index: u64, list_url: &str) -> Self {
        Self {
            id: Some(format!("{list_url}#{index}")),
            type_: ENTRY_TYPE.to_owned(),
            status_purpose: purpose,
            status_list_index: index.to_string(),
            status_list_credential: list_url.to_owned(),
            status_size: None,
            status_message: None,
            status_reference: None,
        }
    }

    /// Parses and validates an entry from JSON.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, BitstringStatusError> {
        let entry: Self = serde_json::from_value(value.clone())
            .map_err(|e| MalformedValue::Json(e.to_string()))?;
        entry.validate()?;
        Ok(entry)
    }

    /// The entry as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Checks every MUST of §2.1 (B1).
    pub fn validate(&self) -> Result<(), BitstringStatusError> {
        if self.type_ != ENTRY_TYPE {
            return Err(MalformedValue::EntryType(self.type_.clone()).into());
        }
        if !is_base10(&self.status_list_index) {
            return Err(MalformedValue::StatusListIndex(self.status_list_index.clone()).into());
        }
        let list_url = url::Url::parse(&self.status_list_credential)
            .map_err(|e| MalformedValue::StatusListCredential(e.to_string()))?;
        if let Some(id) = &self.id {
            let same_url = url::Url::parse(id).is_ok_and(|u| u == list_url);
            if id == &self.status_list_credential || same_url {
                return Err(MalformedValue::EntryIdIsListUrl.into());
            }
        }
        let size = self.size()?;
        let found = self.status_message.as_ref().map_or(0, Vec::len);
        let required = size.get() > 1;
        if (required || self.status_message.is_some()) && found != size.values() {
            return Err(MalformedValue::StatusMessageCount {
                expected: size.values(),
                found,
            }
            .into());
        }
        for m in self.status_message.iter().flatten() {
            match m.value() {
                Some(v) if v < size.values() as u64 => {}
                _ => return Err(MalformedValue::StatusMessageValue(m.status.clone()).into()),
            }
        }
        Ok(())
    }

    /// `statusSize`, defaulting to 1.
    pub fn size(&self) -> Result<StatusSize, BitstringStatusError> {
        match self.status_size {
            None => Ok(StatusSize::ONE),
            Some(n) => Ok(StatusSize::new(n)?),
        }
    }

    /// The numeric index; an index too large for any list is a RANGE_ERROR.
    pub fn index(&self) -> Result<u64, BitstringStatusError> {
        parse_index(&self.status_list_index)
    }

    /// The message for `value` from `statusMessage`, if any.
    pub fn message_for(&self, value: u8) -> Option<&str> {
        self.status_message
            .iter()
            .flatten()
            .find(|m| m.value() == Some(u64::from(value)))
            .map(|m| m.message.as_str())
    }
}

/// A non-empty string of ASCII digits (an "arbitrary size integer ... in base 10", §2.1).
fn is_base10(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parses a base-10 `statusListIndex`: digits only (MALFORMED_VALUE_ERROR otherwise); a value
/// beyond `u64` is a RANGE_ERROR, as no list can be that long.
fn parse_index(s: &str) -> Result<u64, BitstringStatusError> {
    if !is_base10(s) {
        return Err(MalformedValue::StatusListIndex(s.to_owned()).into());
    }
    s.parse::<u64>().map_err(|_| BitstringStatusError::Range {
        index: s.to_owned(),
        entries: 0,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn b2_index_zero_is_the_msb() {
        let mut b = Bitstring::new(16);
        b.set_bit(0, true).unwrap();
        b.set_bit(15, true).unwrap();
        assert_eq!(b.as_bytes(), &[0x80, 0x01]);
    }

    #[test]
    fn multi_bit_entries_are_big_endian() {
        let mut b = Bitstring::new(8);
        let two = StatusSize::new(2).unwrap();
        b.set(1, two, 0b10).unwrap();
        assert_eq!(b.as_bytes(), &[0b0010_0000]);
        assert_eq!(b.get(1, two).unwrap(), 2);
    }
}
