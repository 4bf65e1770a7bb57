//! The W3C `BitstringStatusListCredential` (§2.2): building it as VC 2.0 JSON, securing it as
//! `vc+jwt` (VC-JOSE-COSE: the claims set is the VC), verifying it, and checking a credential's
//! `BitstringStatusListEntry` against it with the §3.2 validate algorithm.
//!
//! Conformance: B2 (types, `encodedList`, `ttl` in milliseconds), B3 (error codes), B4 (same
//! securing mechanism as the VC: `vc+jwt`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::bitstring::{
    Bitstring, BitstringStatusError, BitstringStatusListEntry, MIN_ENTRIES, MalformedValue,
    StatusMessage, StatusPurpose, StatusVerificationFailure,
};
use crate::jose::{self, CheckedJws, JoseError, KeyResolver};
use crate::keys::{PublicJwk, SigningKey};

/// The VC 2.0 base context.
pub const VC_V2_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// `type` member a status list credential must include (B2).
pub const CREDENTIAL_TYPE: &str = "BitstringStatusListCredential";
/// `credentialSubject.type` of a status list (B2).
pub const SUBJECT_TYPE: &str = "BitstringStatusList";
/// JOSE `typ` of a VC secured with JOSE (VC-JOSE-COSE §3.1.1).
pub const VC_JWT_TYP: &str = "vc+jwt";

/// A Bitstring Status List credential (§2.2), the VC itself before or after securing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitstringStatusListCredential {
    /// Credential `id`: the URL the list is published at (what entries name in
    /// `statusListCredential`). Optional on the wire; our builder always sets it.
    pub id: Option<String>,
    /// `issuer` (a DID or URL; an `issuer` object is read through its `id`).
    pub issuer: String,
    /// `validFrom`.
    pub valid_from: Option<DateTime<Utc>>,
    /// `validUntil`.
    pub valid_until: Option<DateTime<Utc>>,
    /// `credentialSubject.id`.
    pub subject_id: Option<String>,
    /// `credentialSubject.statusPurpose`: one or more purposes.
    pub status_purposes: Vec<StatusPurpose>,
    /// `credentialSubject.encodedList`.
    pub encoded_list: String,
    /// `credentialSubject.ttl`, in MILLISECONDS (B2).
    pub ttl_ms: Option<u64>,
    /// `credentialSubject.statusMessages`, if the list defines them (purpose `message`).
    pub status_messages: Option<Vec<StatusMessage>>,
}

impl BitstringStatusListCredential {
    /// A list credential at `list_url` issued by `issuer` for `purpose`, encoding `bitstring`,
    /// valid from `valid_from`. The subject id is `list_url#list`.
    pub fn new(
        list_url: &str,
        issuer: &str,
        purpose: StatusPurpose,
        bitstring: &Bitstring,
        valid_from: DateTime<Utc>,
    ) -> Self {
        Self {
            id: Some(list_url.to_owned()),
            issuer: issuer.to_owned(),
            valid_from: Some(valid_from),
            valid_until: None,
            subject_id: Some(format!("{list_url}#list")),
            status_purposes: vec![purpose],
            encoded_list: bitstring.encode(),
            ttl_ms: None,
            status_messages: None,
        }
    }

    /// Sets `validUntil`.
    pub fn with_valid_until(mut self, until: DateTime<Utc>) -> Self {
        self.valid_until = Some(until);
        self
    }

    /// Sets `ttl` in milliseconds.
    pub fn with_ttl_ms(mut self, ttl_ms: u64) -> Self {
        self.ttl_ms = Some(ttl_ms);
        self
    }

    /// The VC 2.0 JSON document.
    pub fn to_json(&self) -> Value {
        let mut vc = Map::new();
        vc.insert("@context".into(), json!([VC_V2_CONTEXT]));
        if let Some(id) = &self.id {
            vc.insert("id".into(), json!(id));
        }
        vc.insert(
            "type".into(),
            json!(["VerifiableCredential", CREDENTIAL_TYPE]),
        );
        vc.insert("issuer".into(), json!(self.issuer));
        if let Some(t) = self.valid_from {
            vc.insert("validFrom".into(), json!(date(t)));
        }
        if let Some(t) = self.valid_until {
            vc.insert("validUntil".into(), json!(date(t)));
        }
        let mut subject = Map::new();
        if let Some(id) = &self.subject_id {
            subject.insert("id".into(), json!(id));
        }
        subject.insert("type".into(), json!(SUBJECT_TYPE));
        let purposes: Vec<&str> = self
            .status_purposes
            .iter()
            .map(StatusPurpose::as_str)
            .collect();
        subject.insert(
            "statusPurpose".into(),
            match purposes.as_slice() {
                [one] => json!(one),
                many => json!(many),
            },
        );
        subject.insert("encodedList".into(), json!(self.encoded_list));
        if let Some(ttl) = self.ttl_ms {
            subject.insert("ttl".into(), json!(ttl));
        }
        if let Some(m) = &self.status_messages {
            subject.insert(
                "statusMessages".into(),
                serde_json::to_value(m).unwrap_or(Value::Null),
            );
        }
        vc.insert("credentialSubject".into(), Value::Object(subject));
        Value::Object(vc)
    }

    /// Reads a list credential from VC JSON, checking the B2 MUSTs (types, subject shape).
    /// Every violation is a MALFORMED_VALUE_ERROR.
    pub fn from_json(vc: &Value) -> Result<Self, BitstringStatusError> {
        let obj = vc
            .as_object()
            .ok_or_else(|| malformed("credential is not a JSON object"))?;
        let types = string_or_array(obj.get("type")).ok_or_else(|| malformed("type"))?;
        if !types.iter().any(|t| t == CREDENTIAL_TYPE) {
            return Err(MalformedValue::CredentialType.into());
        }
        let id = optional_string(obj, "id")?;
        let issuer = match obj.get("issuer") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Object(o)) => o
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| malformed("issuer.id"))?
                .to_owned(),
            _ => return Err(malformed("issuer").into()),
        };
        let valid_from = optional_date(obj, "validFrom")?;
        let valid_until = optional_date(obj, "validUntil")?;
        let subject = match obj.get("credentialSubject") {
            Some(Value::Object(s)) => s,
            // A list credential has exactly one subject: the list.
            Some(Value::Array(a)) if a.len() == 1 => a
                .first()
                .and_then(Value::as_object)
                .ok_or_else(|| malformed("credentialSubject"))?,
            _ => return Err(malformed("credentialSubject").into()),
        };
        if subject.get("type").and_then(Value::as_str) != Some(SUBJECT_TYPE) {
            return Err(MalformedValue::SubjectType.into());
        }
        let subject_id = optional_string(subject, "id")?;
        let status_purposes = string_or_array(subject.get("statusPurpose"))
            .filter(|p| !p.is_empty())
            .ok_or_else(|| malformed("credentialSubject.statusPurpose"))?
            .iter()
            .map(|p| StatusPurpose::from(p.as_str()))
            .collect();
        let encoded_list = subject
            .get("encodedList")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("credentialSubject.encodedList"))?
            .to_owned();
        let ttl_ms = match subject.get("ttl") {
            None => None,
            Some(v) => Some(
                v.as_u64()
                    .ok_or_else(|| malformed("credentialSubject.ttl (milliseconds)"))?,
            ),
        };
        let status_messages = match subject.get("statusMessages") {
            None => None,
            Some(v) => Some(
                serde_json::from_value(v.clone())
                    .map_err(|_| malformed("credentialSubject.statusMessages"))?,
            ),
        };
        Ok(Self {
            id,
            issuer,
            valid_from,
            valid_until,
            subject_id,
            status_purposes,
            encoded_list,
            ttl_ms,
            status_messages,
        })
    }

    /// Decodes `encodedList` (bounded decompression).
    pub fn decode_list(&self) -> Result<Bitstring, BitstringStatusError> {
        Bitstring::decode(&self.encoded_list)
    }

    /// Secures the credential as `vc+jwt`: header `{alg, typ: vc+jwt, kid}`, claims set = the
    /// VC (B4). `kid` is the issuer's DID URL of the signing key.
    pub fn sign(&self, key: &SigningKey, kid: &str) -> Result<String, JoseError> {
        jose::sign_compact(key, VC_JWT_TYP, Some(kid), &self.to_json())
    }

    /// STATUS_VERIFICATION_ERROR when `now` is outside `validFrom`..`validUntil`.
    pub fn check_validity(&self, now: DateTime<Utc>) -> Result<(), BitstringStatusError> {
        if let Some(from) = self.valid_from
            && now < from
        {
            return Err(StatusVerificationFailure::NotYetValid(from).into());
        }
        if let Some(until) = self.valid_until
            && now >= until
        {
            return Err(StatusVerificationFailure::Expired(until).into());
        }
        Ok(())
    }
}

fn date(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn malformed(what: &str) -> MalformedValue {
    MalformedValue::Json(format!("{what} is missing or has the wrong type"))
}

fn optional_string(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, MalformedValue> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(malformed(key)),
    }
}

fn optional_date(
    obj: &Map<String, Value>,
    key: &'static str,
) -> Result<Option<DateTime<Utc>>, MalformedValue> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|d| Some(d.with_timezone(&Utc)))
            .map_err(|_| MalformedValue::Date(key)),
        Some(_) => Err(MalformedValue::Date(key)),
    }
}

fn string_or_array(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(a) => a.iter().map(|x| x.as_str().map(str::to_owned)).collect(),
        _ => None,
    }
}

/// Verifies a `vc+jwt` status list credential with `key`: JWS form, `alg` allowlist, `typ`
/// `vc+jwt` and signature (any failure: STATUS_VERIFICATION_ERROR), then the B2 shape
/// (MALFORMED_VALUE_ERROR) and the validity period at `now` (STATUS_VERIFICATION_ERROR).
/// The caller must also check that [`BitstringStatusListCredential::issuer`] is trusted.
pub fn verify_status_list_credential(
    jws: &str,
    key: &PublicJwk,
    now: DateTime<Utc>,
) -> Result<BitstringStatusListCredential, BitstringStatusError> {
    let (_header, claims) =
        jose::verify_compact(jws, VC_JWT_TYP, key).map_err(StatusVerificationFailure::Signature)?;
    let vc = BitstringStatusListCredential::from_json(&claims)?;
    vc.check_validity(now)?;
    Ok(vc)
}

/// Like [`verify_status_list_credential`], resolving the key from the header `kid` for the
/// credential's own `issuer` through `resolver`, so the key is bound to the issuer. When the
/// issuer is a DID, `kid` must be a DID URL of it (`<issuer>#...`). The caller must still check
/// that the issuer is trusted.
pub fn verify_status_list_credential_with_resolver<R: KeyResolver + ?Sized>(
    jws: &str,
    resolver: &R,
    now: DateTime<Utc>,
) -> Result<BitstringStatusListCredential, BitstringStatusError> {
    let checked =
        CheckedJws::decode(jws, VC_JWT_TYP).map_err(StatusVerificationFailure::Signature)?;
    let kid = checked
        .header()
        .kid
        .clone()
        .ok_or(StatusVerificationFailure::MissingKid)?;
    // The issuer is read before the signature is checked only to choose the key; nothing else
    // is used until the signature verifies.
    let unverified = BitstringStatusListCredential::from_json(checked.claims())?;
    let issuer = unverified.issuer;
    if issuer.starts_with("did:")
        && !kid
            .strip_prefix(issuer.as_str())
            .is_some_and(|r| r.starts_with('#'))
    {
        return Err(StatusVerificationFailure::KidNotOfIssuer { kid, issuer }.into());
    }
    let key = resolver
        .resolve(&issuer, &kid)
        .map_err(StatusVerificationFailure::KeyResolution)?;
    checked
        .verify_signature(&key)
        .map_err(StatusVerificationFailure::Signature)?;
    let (_header, claims) = checked.into_parts();
    let vc = BitstringStatusListCredential::from_json(&claims)?;
    vc.check_validity(now)?;
    Ok(vc)
}

/// The outcome of a status check (§3.2 step 12–16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitstringStatusResult {
    /// The status value at the entry's index.
    pub status: u8,
    /// The entry's purpose.
    pub purpose: StatusPurpose,
    /// True when `status` is 0 (for revocation/suspension: not revoked / not suspended).
    pub valid: bool,
    /// The message for `status`, from the entry's `statusMessage` or the list's
    /// `statusMessages`, if defined.
    pub message: Option<String>,
}

/// Checks `entry` against an already verified list credential (§3.2 Validate Algorithm):
/// entry MUSTs (MALFORMED_VALUE_ERROR); the list is the one the entry names and has the
/// entry's purpose (STATUS_VERIFICATION_ERROR); the list holds at least [`MIN_ENTRIES`] entries
/// (STATUS_LIST_LENGTH_ERROR); the index is inside it (RANGE_ERROR).
pub fn check_entry(
    entry: &BitstringStatusListEntry,
    list: &BitstringStatusListCredential,
) -> Result<BitstringStatusResult, BitstringStatusError> {
    check_entry_with_minimum(entry, list, MIN_ENTRIES)
}

/// [`check_entry`] with another minimum list length (§3.2 step 2 allows an ecosystem to set a
/// different lower bound).
pub fn check_entry_with_minimum(
    entry: &BitstringStatusListEntry,
    list: &BitstringStatusListCredential,
    minimum_entries: u64,
) -> Result<BitstringStatusResult, BitstringStatusError> {
    entry.validate()?;
    if let Some(id) = &list.id
        && id != &entry.status_list_credential
    {
        return Err(StatusVerificationFailure::ListUrlMismatch {
            expected: entry.status_list_credential.clone(),
            found: id.clone(),
        }
        .into());
    }
    if !list.status_purposes.contains(&entry.status_purpose) {
        return Err(StatusVerificationFailure::PurposeMismatch {
            entry: entry.status_purpose.clone(),
        }
        .into());
    }
    let bitstring = list.decode_list()?;
    let size = entry.size()?;
    bitstring.check_length(size, minimum_entries)?;
    let index = entry.index().map_err(|e| match e {
        BitstringStatusError::Range { index, .. } => BitstringStatusError::Range {
            index,
            entries: bitstring.entries(size),
        },
        other => other,
    })?;
    let status = bitstring.get(index, size)?;
    let message = entry.message_for(status).map(str::to_owned).or_else(|| {
        list.status_messages
            .iter()
            .flatten()
            .find(|m| m.value() == Some(u64::from(status)))
            .map(|m| m.message.clone())
    });
    Ok(BitstringStatusResult {
        status,
        purpose: entry.status_purpose.clone(),
        valid: status == 0,
        message,
    })
}

/// Verifies the `vc+jwt` list credential (as [`verify_status_list_credential`]) and checks
/// `entry` against it (as [`check_entry`]).
pub fn verify_and_check_entry(
    entry: &BitstringStatusListEntry,
    list_jws: &str,
    key: &PublicJwk,
    now: DateTime<Utc>,
) -> Result<BitstringStatusResult, BitstringStatusError> {
    let list = verify_status_list_credential(list_jws, key, now)?;
    check_entry(entry, &list)
}
