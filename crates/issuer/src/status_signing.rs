//! `SignStatusList`: the only way the status-list service gets a list signed. The payload is
//! accepted only if it IS a status list of the requested format, and the signed document is
//! rebuilt from the parsed, typed list — so this endpoint cannot sign an Agent Authorization
//! Credential or anything else:
//!
//! - Token Status List (draft -20 §5.1, T2): members `sub`, `ttl`, `status_list {bits, lst}`
//!   only (`iss`, `iat`, `exp` are tolerated and replaced); `sub` under this domain's
//!   `/status/`; `lst` must decode. Signed with `typ: statuslist+jwt`.
//! - Bitstring Status List credential (B2): `@context` starting with the VC 2.0 context, `type`
//!   exactly `VerifiableCredential` + `BitstringStatusListCredential`, `id` under `/status/`, a
//!   `BitstringStatusList` subject with purpose `revocation` or `suspension` and an
//!   `encodedList` of at least 131,072 entries (`issuer`, `validFrom`, `validUntil` tolerated and
//!   replaced). Signed as `vc+jwt`.
//!
//! The issuer sets `iss`/`issuer`, `iat`/`validFrom` (now) and `exp`/`validUntil`
//! (now + lifetime, bounded by configuration) itself.

use chrono::{DateTime, Duration, Utc};
use crossauthz_credentials::status::{
    BitstringStatusListCredential, MIN_ENTRIES, StatusListTokenClaims, StatusPurpose,
};
use serde_json::{Map, Value, json};

use crate::IssuerError;

/// The two list formats this endpoint signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListKind {
    /// IETF Token Status List claims (`statuslist+jwt`).
    TokenStatusList,
    /// W3C `BitstringStatusListCredential` (`vc+jwt`).
    Bitstring,
}

/// A signed status list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedList {
    /// The compact JWS.
    pub jws: String,
    /// `exp` / `validUntil`.
    pub expires_at: DateTime<Utc>,
    /// The DID URL of the signing key.
    pub kid: String,
}

const TSL_MEMBERS: [&str; 3] = ["sub", "ttl", "status_list"];
const TSL_REPLACED: [&str; 3] = ["iss", "iat", "exp"];
const BSL_MEMBERS: [&str; 4] = ["@context", "id", "type", "credentialSubject"];
const BSL_REPLACED: [&str; 3] = ["issuer", "validFrom", "validUntil"];
const BSL_SUBJECT_MEMBERS: [&str; 6] = [
    "id",
    "type",
    "statusPurpose",
    "encodedList",
    "ttl",
    "statusMessages",
];

/// A payload checked and ready to sign.
#[derive(Debug, Clone)]
pub(crate) enum ListPayload {
    /// Token Status List claims (without `iss`/`iat`/`exp` set yet).
    Token(StatusListTokenClaims),
    /// Bitstring Status List credential (issuer and validity replaced when signing).
    Bitstring(BitstringStatusListCredential),
}

fn not_a_list(reason: impl Into<String>) -> IssuerError {
    IssuerError::NotAStatusList(reason.into())
}

fn only_members(
    obj: &Map<String, Value>,
    allowed: &[&str],
    replaced: &[&str],
    what: &str,
) -> Result<(), IssuerError> {
    match obj
        .keys()
        .find(|k| !allowed.contains(&k.as_str()) && !replaced.contains(&k.as_str()))
    {
        Some(k) => Err(not_a_list(format!("unexpected member `{k}` in {what}"))),
        None => Ok(()),
    }
}

/// A list URL of this domain: an absolute URL in normal form starting with `status_prefix`,
/// something after it, no query or fragment.
fn check_list_url(url: &str, status_prefix: &str) -> Result<(), IssuerError> {
    let foreign = || IssuerError::ForeignStatusListUrl(url.to_owned());
    let parsed = url::Url::parse(url).map_err(|_| foreign())?;
    let rest = url.strip_prefix(status_prefix).ok_or_else(foreign)?;
    if parsed.as_str() != url
        || rest.is_empty()
        || parsed.query().is_some()
        || parsed.fragment().is_some()
    {
        return Err(foreign());
    }
    Ok(())
}

/// Checks a payload of `kind` (see the module documentation).
pub(crate) fn check_payload(
    kind: ListKind,
    payload_json: &str,
    status_prefix: &str,
) -> Result<ListPayload, IssuerError> {
    let obj = match serde_json::from_str::<Value>(payload_json) {
        Ok(Value::Object(o)) => o,
        _ => return Err(not_a_list("payload is not a JSON object")),
    };
    match kind {
        ListKind::TokenStatusList => check_token(obj, status_prefix).map(ListPayload::Token),
        ListKind::Bitstring => check_bitstring(obj, status_prefix).map(ListPayload::Bitstring),
    }
}

fn check_token(
    mut obj: Map<String, Value>,
    status_prefix: &str,
) -> Result<StatusListTokenClaims, IssuerError> {
    only_members(&obj, &TSL_MEMBERS, &TSL_REPLACED, "a Token Status List")?;
    for m in TSL_REPLACED {
        obj.remove(m);
    }
    // `iat` is required by the parser; the real one is set when signing.
    obj.insert("iat".to_owned(), json!(0));
    let claims = StatusListTokenClaims::from_json(&Value::Object(obj))
        .map_err(|e| not_a_list(format!("Token Status List claims: {e}")))?;
    check_list_url(&claims.sub, status_prefix)?;
    claims
        .status_list
        .decode()
        .map_err(|e| not_a_list(format!("status_list: {e}")))?;
    Ok(claims)
}

fn check_bitstring(
    mut obj: Map<String, Value>,
    status_prefix: &str,
) -> Result<BitstringStatusListCredential, IssuerError> {
    only_members(
        &obj,
        &BSL_MEMBERS,
        &BSL_REPLACED,
        "a BitstringStatusListCredential",
    )?;
    let first_context = obj
        .get("@context")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .and_then(Value::as_str);
    if first_context != Some(crossauthz_credentials::vc_jwt::VC_V2_CONTEXT) {
        return Err(not_a_list("@context must start with the VC 2.0 context"));
    }
    let types: Vec<&str> = match obj.get("type") {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let type_count = obj
        .get("type")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let exact = types.len() == 2
        && type_count == 2
        && types.contains(&"VerifiableCredential")
        && types.contains(&"BitstringStatusListCredential");
    if !exact {
        return Err(not_a_list(
            "type must be exactly [VerifiableCredential, BitstringStatusListCredential]",
        ));
    }
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| not_a_list("a status list credential must have a string `id`"))?
        .to_owned();
    check_list_url(&id, status_prefix)?;
    match obj.get("credentialSubject") {
        Some(Value::Object(s)) => {
            only_members(s, &BSL_SUBJECT_MEMBERS, &[], "credentialSubject")?;
            if let Some(sid) = s.get("id") {
                let ok = sid.as_str().is_some_and(|sid| {
                    sid.strip_prefix(id.as_str())
                        .is_some_and(|r| r.starts_with('#'))
                });
                if !ok {
                    return Err(not_a_list("credentialSubject.id must be `<id>#…`"));
                }
            }
        }
        _ => return Err(not_a_list("credentialSubject must be one object")),
    }
    for m in BSL_REPLACED {
        obj.remove(m);
    }
    // The parser needs an issuer; the real one is set when signing.
    obj.insert("issuer".to_owned(), json!("did:web:placeholder"));
    let credential = BitstringStatusListCredential::from_json(&Value::Object(obj))
        .map_err(|e| not_a_list(format!("BitstringStatusListCredential: {e}")))?;
    let purposes_ok = !credential.status_purposes.is_empty()
        && credential
            .status_purposes
            .iter()
            .all(|p| matches!(p, StatusPurpose::Revocation | StatusPurpose::Suspension));
    if !purposes_ok {
        return Err(not_a_list("statusPurpose must be revocation or suspension"));
    }
    let bits = credential
        .decode_list()
        .map_err(|e| not_a_list(format!("encodedList: {e}")))?;
    if bits.len_bits() < MIN_ENTRIES {
        return Err(not_a_list(format!(
            "encodedList holds fewer than {MIN_ENTRIES} entries (B2)"
        )));
    }
    Ok(credential)
}

/// The lifetime to sign with: 0 means `default` (bounded by `max`); above `max` is refused.
pub(crate) fn lifetime(requested: u64, default: u64, max: u64) -> Result<Duration, IssuerError> {
    let seconds = match requested {
        0 => default.min(max),
        r if r > max => {
            return Err(IssuerError::ListLifetimeTooLong { requested: r, max });
        }
        r => r,
    };
    Ok(Duration::seconds(
        i64::try_from(seconds).unwrap_or(i64::MAX),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crossauthz_credentials::status::{Bitstring, StatusBits, StatusList, StatusSize};

    const PREFIX: &str = "https://a.example/status/";

    fn tsl() -> Value {
        json!({
            "sub": "https://a.example/status/l1",
            "ttl": 300,
            "status_list": StatusList::new(StatusBits::Two, 16).to_json(),
        })
    }

    fn bsl(purpose: &str) -> Value {
        let bits = Bitstring::for_entries(MIN_ENTRIES, StatusSize::ONE);
        json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": "https://a.example/status/l1",
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "credentialSubject": {
                "id": "https://a.example/status/l1#list",
                "type": "BitstringStatusList",
                "statusPurpose": purpose,
                "encodedList": bits.encode(),
                "ttl": 300000
            }
        })
    }

    fn token(v: &Value) -> Result<ListPayload, IssuerError> {
        check_payload(ListKind::TokenStatusList, &v.to_string(), PREFIX)
    }

    fn bitstring(v: &Value) -> Result<ListPayload, IssuerError> {
        check_payload(ListKind::Bitstring, &v.to_string(), PREFIX)
    }

    // T2 (draft -20 §5.1): sub, status_list required, ttl positive seconds.
    #[test]
    fn t2_a_token_status_list_payload_is_accepted() {
        assert!(matches!(token(&tsl()).unwrap(), ListPayload::Token(c) if c.ttl == Some(300)));
        let mut with_replaced = tsl();
        with_replaced["iss"] = json!("https://evil.example");
        with_replaced["exp"] = json!(1);
        token(&with_replaced).unwrap();
    }

    #[test]
    fn t2_malformed_token_status_lists_are_refused() {
        let mut v = tsl();
        v.as_object_mut().unwrap().remove("status_list");
        assert!(matches!(token(&v), Err(IssuerError::NotAStatusList(_))));
        let mut v = tsl();
        v["status_list"]["lst"] = json!("!!not base64");
        assert!(matches!(token(&v), Err(IssuerError::NotAStatusList(_))));
        let mut v = tsl();
        v["ttl"] = json!(0);
        assert!(matches!(token(&v), Err(IssuerError::NotAStatusList(_))));
        let mut v = tsl();
        v["vct"] = json!("urn:crossauthz:vct:agent-authorization:1");
        assert!(matches!(token(&v), Err(IssuerError::NotAStatusList(_))));
    }

    #[test]
    fn list_urls_must_be_under_this_domains_status_path() {
        for sub in [
            "https://evil.example/status/l1",
            "https://a.example/agents/1",
            "https://a.example/status/",
            "https://a.example/status/l1?x=1",
            "https://a.example/status/l1#f",
            "https://a.example/status/../agents",
            "not a url",
        ] {
            let mut v = tsl();
            v["sub"] = json!(sub);
            assert!(
                matches!(token(&v), Err(IssuerError::ForeignStatusListUrl(_))),
                "{sub}"
            );
            let mut v = bsl("revocation");
            v["id"] = json!(sub);
            assert!(
                matches!(bitstring(&v), Err(IssuerError::ForeignStatusListUrl(_))),
                "{sub}"
            );
        }
    }

    // B2: type includes BitstringStatusListCredential, subject BitstringStatusList.
    #[test]
    fn b2_a_bitstring_status_list_credential_is_accepted() {
        for purpose in ["revocation", "suspension"] {
            assert!(matches!(
                bitstring(&bsl(purpose)).unwrap(),
                ListPayload::Bitstring(_)
            ));
        }
    }

    // The endpoint must not be usable to sign an Agent Authorization Credential.
    #[test]
    fn a_verifiable_credential_payload_is_refused() {
        let vc = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": "https://a.example/status/l1",
            "type": ["VerifiableCredential", "AgentAuthorizationCredential"],
            "issuer": "did:web:a.example",
            "credentialSubject": {"id": "https://a.example/agents/1", "agentType": "tool-agent"}
        });
        assert!(matches!(
            bitstring(&vc),
            Err(IssuerError::NotAStatusList(_))
        ));
        assert!(matches!(token(&vc), Err(IssuerError::NotAStatusList(_))));
        let mut both = bsl("revocation");
        both["type"] = json!([
            "VerifiableCredential",
            "BitstringStatusListCredential",
            "AgentAuthorizationCredential"
        ]);
        assert!(matches!(
            bitstring(&both),
            Err(IssuerError::NotAStatusList(_))
        ));
        let mut extra = bsl("revocation");
        extra["credentialSubject"]["authorizedScopes"] = json!(["admin"]);
        assert!(matches!(
            bitstring(&extra),
            Err(IssuerError::NotAStatusList(_))
        ));
        let mut extra = bsl("revocation");
        extra["cnf"] = json!({"jwk": {}});
        assert!(matches!(
            bitstring(&extra),
            Err(IssuerError::NotAStatusList(_))
        ));
    }

    #[test]
    fn b2_malformed_bitstring_credentials_are_refused() {
        let mut v = bsl("message");
        assert!(matches!(bitstring(&v), Err(IssuerError::NotAStatusList(_))));
        v = bsl("revocation");
        v["credentialSubject"]["encodedList"] = json!("uH4sIAAAAAAAA");
        assert!(matches!(bitstring(&v), Err(IssuerError::NotAStatusList(_))));
        v = bsl("revocation");
        let short = Bitstring::for_entries(8, StatusSize::ONE);
        v["credentialSubject"]["encodedList"] = json!(short.encode());
        if short.len_bits() < MIN_ENTRIES {
            assert!(matches!(bitstring(&v), Err(IssuerError::NotAStatusList(_))));
        }
        v = bsl("revocation");
        v["credentialSubject"]["id"] = json!("https://a.example/agents/1");
        assert!(matches!(bitstring(&v), Err(IssuerError::NotAStatusList(_))));
        v = bsl("revocation");
        v["@context"] = json!(["https://www.w3.org/2018/credentials/v1"]);
        assert!(matches!(bitstring(&v), Err(IssuerError::NotAStatusList(_))));
    }

    #[test]
    fn lifetimes_are_bounded() {
        assert_eq!(lifetime(0, 100, 200).unwrap(), Duration::seconds(100));
        assert_eq!(lifetime(0, 300, 200).unwrap(), Duration::seconds(200));
        assert_eq!(lifetime(150, 100, 200).unwrap(), Duration::seconds(150));
        assert!(matches!(
            lifetime(201, 100, 200),
            Err(IssuerError::ListLifetimeTooLong {
                requested: 201,
                max: 200
            })
        ));
    }

    proptest::proptest! {
        // Any payload text is accepted or refused without panicking, in both formats.
        #[test]
        fn checking_any_payload_never_panics(s in ".*") {
            let _ = check_payload(ListKind::TokenStatusList, &s, PREFIX);
            let _ = check_payload(ListKind::Bitstring, &s, PREFIX);
        }
    }
}
