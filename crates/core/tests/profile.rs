//! Tests of the Agent Authorization Credential profile (DESIGN §5): the VC 2.0 document (J5, B1)
//! and the SD-JWT VC claims set (V2, V3, T3), round trips and typed rejections.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{CLIENT_ID, ed25519_jwk};
use crossauthz_core::client_id::{ClientIdError, ClientIdUrl};
use crossauthz_core::clock::{Clock, FixedClock};
use crossauthz_core::jwk_policy::JwkPolicyError;
use crossauthz_core::profile::{
    AGENT_AUTHZ_VCT, AgentClaims, AgentType, BitstringStatusRef, Clearance, ComplianceAttestation,
    Delegation, ModelInfo, OperationalConstraints, ProfileError, Provenance, SdJwtVcInput,
    StatusPurpose, TokenStatusRef, TrustSignals, VcDocumentInput, from_sd_jwt_vc_claims,
    from_vc_document, to_sd_jwt_vc_claims, to_vc_document,
};
use crossauthz_core::scope::ScopeSet;
use serde_json::{Value, json};
use uuid::Uuid;

const ISSUER: &str = "did:web:a.example";
const LIST: &str = "https://a.example/status/1";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn full_claims() -> AgentClaims {
    let mut claims = AgentClaims::new(
        AgentType::ToolAgent,
        ScopeSet::parse("logs:read metrics:read").unwrap(),
        "a.example",
    );
    claims.agent_name = Some("log-reader".to_owned());
    claims.agent_version = Some("1.2.3".to_owned());
    claims.tenant_id = Some("tenant-7".to_owned());
    claims.data_sensitivity_clearance = Some(Clearance::Confidential);
    claims.compliance_attestations = vec![ComplianceAttestation {
        standard: "SOC2".to_owned(),
        scope: Some("production".to_owned()),
        valid_until: t0() + Duration::days(30),
    }];
    claims.trust_signals = Some(TrustSignals {
        trust_score: 0.87,
        provider: "https://trust.example".to_owned(),
        timestamp: t0(),
    });
    claims.operational_constraints = Some(OperationalConstraints {
        allowed_hours: Some("08:00-18:00 UTC".to_owned()),
        max_requests_per_minute: Some(60),
        allowed_resources: vec!["https://b.example/mcp".to_owned()],
        extra: serde_json::from_value(json!({"geo": ["EU"]})).unwrap(),
    });
    claims.model_info = Some(ModelInfo {
        provider: Some("acme".to_owned()),
        name: Some("m-1".to_owned()),
        version: None,
        extra: serde_json::Map::new(),
    });
    claims.provenance = Some(Provenance {
        build: Some("b-99".to_owned()),
        repo: Some("https://git.example/agent".to_owned()),
        commit: Some("0123abcd".to_owned()),
        slsa_level: Some(3),
        extra: serde_json::Map::new(),
    });
    claims.policy_bindings = vec!["policy:logs-readonly".to_owned()];
    claims.delegation = Some(Delegation {
        permitted: true,
        max_depth: Some(2),
        allowed_delegatee_types: vec![AgentType::EphemeralAgent],
        non_delegatable: ScopeSet::parse("metrics:read").unwrap(),
    });
    claims.extensions = serde_json::from_value(json!({
        "x-costCenter": {"id": 42, "tags": ["a", {"deep": [1.5, -3, 1e300, null]}]},
        "riskTier": 3,
        "flags": [true, false]
    }))
    .unwrap();
    claims
}

fn subject() -> ClientIdUrl {
    ClientIdUrl::parse(CLIENT_ID).unwrap()
}

fn vc_doc(claims: &AgentClaims) -> Value {
    let subject = subject();
    let status = BitstringStatusRef::single_list(LIST, 94567);
    to_vc_document(&VcDocumentInput {
        credential_id: Uuid::nil(),
        issuer: ISSUER,
        subject: &subject,
        valid_from: t0(),
        valid_until: t0() + Duration::hours(1),
        status: &status,
        claims,
    })
    .unwrap()
}

fn sd_claims(claims: &AgentClaims) -> Value {
    let subject = subject();
    let jwk = ed25519_jwk("holder");
    let status = TokenStatusRef {
        idx: 7,
        uri: "https://a.example/status/1".to_owned(),
    };
    to_sd_jwt_vc_claims(&SdJwtVcInput {
        issuer: "https://a.example",
        subject: &subject,
        issued_at: t0(),
        valid_from: t0(),
        valid_until: t0() + Duration::hours(1),
        holder_jwk: &jwk,
        status: &status,
        claims,
    })
    .unwrap()
}

fn edit(mut v: Value, f: impl FnOnce(&mut Value)) -> Value {
    f(&mut v);
    v
}

// DESIGN §5 / VC-DM 2.0 / J5: the document shape.
#[test]
fn j5_vc_document_has_the_vc2_shape() {
    let doc = vc_doc(&AgentClaims::new(
        AgentType::SystemAgent,
        ScopeSet::parse("a").unwrap(),
        "a.example",
    ));
    assert_eq!(
        doc["@context"],
        json!(["https://www.w3.org/ns/credentials/v2"])
    );
    assert_eq!(
        doc["id"],
        json!("urn:uuid:00000000-0000-0000-0000-000000000000")
    );
    assert_eq!(
        doc["type"],
        json!(["VerifiableCredential", "AgentAuthorizationCredential"])
    );
    assert_eq!(doc["issuer"], json!(ISSUER));
    assert_eq!(doc["validFrom"], json!("2026-01-01T00:00:00Z"));
    assert_eq!(doc["validUntil"], json!("2026-01-01T01:00:00Z"));
    assert_eq!(
        doc["credentialSubject"],
        json!({"id": CLIENT_ID, "agentType": "system-agent", "authorizedScopes": ["a"], "issuerDomain": "a.example"})
    );
    assert!(doc.get("vc").is_none(), "J2: no `vc` claim");
}

// B1: two BitstringStatusListEntry items, revocation and suspension, same list and index; the
// entry id is never the list URL.
#[test]
fn b1_vc_document_carries_revocation_and_suspension_entries() {
    let doc = vc_doc(&full_claims());
    let entries = doc["credentialStatus"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    for (entry, purpose) in entries.iter().zip(["revocation", "suspension"]) {
        assert_eq!(entry["type"], json!("BitstringStatusListEntry"));
        assert_eq!(entry["statusPurpose"], json!(purpose));
        assert_eq!(entry["statusListIndex"], json!("94567"));
        assert_eq!(entry["statusListCredential"], json!(LIST));
        assert_ne!(entry["id"], json!(LIST));
    }
    assert_ne!(entries[0]["id"], entries[1]["id"]);
    let parsed = from_vc_document(&doc).unwrap();
    let revocation = parsed.status_entry(&StatusPurpose::Revocation).unwrap();
    assert_eq!(revocation.index, 94567);
    assert_eq!(revocation.list_credential_raw, LIST);
    assert!(parsed.status_entry(&StatusPurpose::Suspension).is_some());
}

#[test]
fn vc_document_round_trip_keeps_every_claim_and_extension() {
    let claims = full_claims();
    let doc = vc_doc(&claims);
    let parsed = from_vc_document(&doc).unwrap();
    assert_eq!(parsed.claims, claims);
    assert_eq!(parsed.subject.as_str(), CLIENT_ID);
    assert_eq!(parsed.issuer, ISSUER);
    assert_eq!(parsed.valid_from, t0());
    assert_eq!(
        parsed.claims.extensions["x-costCenter"],
        json!({"id": 42, "tags": ["a", {"deep": [1.5, -3, 1e300, null]}]})
    );
    // And the JSON written again is identical.
    assert_eq!(vc_doc(&parsed.claims), doc);
}

#[test]
fn sd_jwt_vc_claims_have_registered_claims_then_flat_profile_claims() {
    let claims = sd_claims(&full_claims());
    let keys: Vec<&str> = claims
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .take(8)
        .collect();
    assert_eq!(
        keys,
        ["iss", "iat", "nbf", "exp", "vct", "sub", "cnf", "status"]
    );
    assert_eq!(claims["vct"], json!(AGENT_AUTHZ_VCT));
    assert_eq!(claims["sub"], json!(CLIENT_ID));
    assert_eq!(claims["exp"], json!(t0().timestamp() + 3600));
    assert_eq!(claims["cnf"]["jwk"], ed25519_jwk("holder"));
    assert_eq!(
        claims["status"],
        json!({"status_list": {"idx": 7, "uri": "https://a.example/status/1"}})
    );
    assert_eq!(claims["agentType"], json!("tool-agent"));
    assert_eq!(claims["riskTier"], json!(3));
}

#[test]
fn sd_jwt_vc_round_trip_keeps_every_claim_and_extension() {
    let claims = full_claims();
    let parsed = from_sd_jwt_vc_claims(&sd_claims(&claims)).unwrap();
    assert_eq!(parsed.claims, claims);
    assert_eq!(parsed.subject.as_str(), CLIENT_ID);
    assert_eq!(parsed.issuer, "https://a.example");
    assert_eq!(parsed.status.idx, 7);
    assert_eq!(parsed.expires_at, t0() + Duration::hours(1));
    assert_eq!(parsed.holder_jwk, ed25519_jwk("holder"));
}

#[test]
fn unknown_agent_type_is_rejected() {
    let doc = edit(vc_doc(&full_claims()), |d| {
        d["credentialSubject"]["agentType"] = json!("super-agent");
    });
    assert_eq!(
        from_vc_document(&doc),
        Err(ProfileError::UnknownAgentType("super-agent".to_owned()))
    );
    let sd = edit(sd_claims(&full_claims()), |c| {
        c["agentType"] = json!("Tool-Agent")
    });
    assert_eq!(
        from_sd_jwt_vc_claims(&sd),
        Err(ProfileError::UnknownAgentType("Tool-Agent".to_owned()))
    );
    let sd = edit(sd_claims(&full_claims()), |c| c["agentType"] = json!(1));
    assert_eq!(
        from_sd_jwt_vc_claims(&sd),
        Err(ProfileError::WrongClaimType { claim: "agentType" })
    );
}

#[test]
fn trust_score_out_of_range_is_rejected() {
    for score in [1.01, -0.1, 2.0] {
        let doc = edit(vc_doc(&full_claims()), |d| {
            d["credentialSubject"]["trustSignals"]["trustScore"] = json!(score);
        });
        assert_eq!(
            from_vc_document(&doc),
            Err(ProfileError::TrustScoreOutOfRange(score))
        );
    }
    for score in [json!(0), json!(1), json!(0.0), json!(1.0), json!(0.5)] {
        let doc = edit(vc_doc(&full_claims()), |d| {
            d["credentialSubject"]["trustSignals"]["trustScore"] = score.clone();
        });
        assert!(from_vc_document(&doc).is_ok(), "{score}");
    }
    let mut claims = full_claims();
    claims.trust_signals.as_mut().unwrap().trust_score = f64::NAN;
    assert!(matches!(
        claims.validate(),
        Err(ProfileError::TrustScoreOutOfRange(_))
    ));
}

#[test]
fn required_claims_are_enforced_with_typed_errors() {
    for claim in ["agentType", "authorizedScopes", "issuerDomain"] {
        let doc = edit(vc_doc(&full_claims()), |d| {
            d["credentialSubject"]
                .as_object_mut()
                .unwrap()
                .shift_remove(claim);
        });
        assert_eq!(
            from_vc_document(&doc),
            Err(ProfileError::MissingClaim { claim }),
            "{claim}"
        );
    }
    let doc = edit(vc_doc(&full_claims()), |d| {
        d["credentialSubject"]["authorizedScopes"] = json!(["ok", "not ok"]);
    });
    assert!(matches!(
        from_vc_document(&doc),
        Err(ProfileError::InvalidScope { scope, .. }) if scope == "not ok"
    ));
    let doc = edit(vc_doc(&full_claims()), |d| {
        d["credentialSubject"]["authorizedScopes"] = json!("logs:read");
    });
    assert_eq!(
        from_vc_document(&doc),
        Err(ProfileError::WrongClaimType {
            claim: "authorizedScopes"
        })
    );
    for domain in ["https://a.example", "A.example", "a.example/x", "", "a b"] {
        let doc = edit(vc_doc(&full_claims()), |d| {
            d["credentialSubject"]["issuerDomain"] = json!(domain);
        });
        assert_eq!(
            from_vc_document(&doc),
            Err(ProfileError::InvalidIssuerDomain(domain.to_owned())),
            "{domain}"
        );
    }
}

#[test]
fn clearance_is_ordered_and_unknown_levels_are_rejected() {
    assert!(Clearance::Public < Clearance::Internal);
    assert!(Clearance::Internal < Clearance::Confidential);
    assert!(Clearance::Confidential < Clearance::Restricted);
    assert!(Clearance::Restricted < Clearance::Regulated);
    let doc = edit(vc_doc(&full_claims()), |d| {
        d["credentialSubject"]["dataSensitivityClearance"] = json!("secret");
    });
    assert_eq!(
        from_vc_document(&doc),
        Err(ProfileError::UnknownClearance("secret".to_owned()))
    );
}

#[test]
fn other_claim_value_rules() {
    let doc = edit(vc_doc(&full_claims()), |d| {
        d["credentialSubject"]["provenance"]["slsaLevel"] = json!(5);
    });
    assert_eq!(
        from_vc_document(&doc),
        Err(ProfileError::InvalidSlsaLevel(5))
    );
    let doc = edit(vc_doc(&full_claims()), |d| {
        d["credentialSubject"]["complianceAttestations"][0]["standard"] = json!(" ");
    });
    assert_eq!(
        from_vc_document(&doc),
        Err(ProfileError::EmptyAttestationStandard { index: 0 })
    );
    let doc = edit(vc_doc(&full_claims()), |d| {
        d["credentialSubject"]["complianceAttestations"][0]["validUntil"] = json!("tomorrow");
    });
    assert!(matches!(
        from_vc_document(&doc),
        Err(ProfileError::InvalidClaims(_))
    ));
    let mut claims = full_claims();
    claims.extensions.insert("cnf".to_owned(), json!({}));
    assert_eq!(
        claims.validate(),
        Err(ProfileError::ReservedExtensionName("cnf".to_owned()))
    );
    claims.extensions.clear();
    claims.extensions.insert("agentType".to_owned(), json!("x"));
    assert_eq!(
        claims.validate(),
        Err(ProfileError::ReservedExtensionName("agentType".to_owned()))
    );
}

// J5: @context[0] must be the VC 2.0 context.
#[test]
fn j5_wrong_context_or_type_is_rejected() {
    let doc = edit(vc_doc(&full_claims()), |d| {
        d["@context"] = json!(["https://www.w3.org/2018/credentials/v1"]);
    });
    assert_eq!(from_vc_document(&doc), Err(ProfileError::WrongContext));
    let doc = edit(vc_doc(&full_claims()), |d| {
        d["@context"] = json!("https://www.w3.org/ns/credentials/v2");
    });
    assert_eq!(from_vc_document(&doc), Err(ProfileError::WrongContext));
    let doc = edit(vc_doc(&full_claims()), |d| {
        d["type"] = json!(["VerifiableCredential"]);
    });
    assert_eq!(from_vc_document(&doc), Err(ProfileError::WrongType));
}

// J4: `issuer` may be a string or an object with `id`; this profile requires did:web.
#[test]
fn j4_issuer_forms_and_did_web_requirement() {
    let doc = edit(vc_doc(&full_claims()), |d| {
        d["issuer"] = json!({"id": ISSUER, "name": "A"});
    });
    assert_eq!(from_vc_document(&doc).unwrap().issuer, ISSUER);
    for bad in [
        "did:key:z6Mk",
        "https://a.example",
        "did:web:",
        "did:web:a b",
    ] {
        let doc = edit(vc_doc(&full_claims()), |d| d["issuer"] = json!(bad));
        assert!(
            matches!(from_vc_document(&doc), Err(ProfileError::InvalidIssuer { issuer, .. }) if issuer == bad),
            "{bad}"
        );
    }
    let doc = edit(vc_doc(&full_claims()), |d| {
        d.as_object_mut().unwrap().shift_remove("issuer");
    });
    assert_eq!(
        from_vc_document(&doc),
        Err(ProfileError::MissingClaim { claim: "issuer" })
    );
}

// DESIGN §5: validFrom/validUntil always present.
#[test]
fn validity_bounds_are_required_and_ordered() {
    for claim in ["validFrom", "validUntil"] {
        let doc = edit(vc_doc(&full_claims()), |d| {
            d.as_object_mut().unwrap().shift_remove(claim);
        });
        assert_eq!(
            from_vc_document(&doc),
            Err(ProfileError::MissingClaim { claim })
        );
        let doc = edit(vc_doc(&full_claims()), |d| d[claim] = json!("2026-13-01"));
        assert_eq!(
            from_vc_document(&doc),
            Err(ProfileError::InvalidTimestamp { claim })
        );
    }
    let doc = edit(vc_doc(&full_claims()), |d| {
        d["validUntil"] = d["validFrom"].clone();
    });
    assert_eq!(from_vc_document(&doc), Err(ProfileError::EmptyValidity));
    let subject = subject();
    let status = BitstringStatusRef::single_list(LIST, 1);
    let claims = full_claims();
    assert_eq!(
        to_vc_document(&VcDocumentInput {
            credential_id: Uuid::nil(),
            issuer: ISSUER,
            subject: &subject,
            valid_from: t0(),
            valid_until: t0() - Duration::seconds(1),
            status: &status,
            claims: &claims,
        }),
        Err(ProfileError::EmptyValidity)
    );
}

#[test]
fn validity_is_checked_against_an_injected_clock() {
    let parsed = from_vc_document(&vc_doc(&full_claims())).unwrap();
    let clock = FixedClock::new(t0() - Duration::seconds(1));
    assert_eq!(
        parsed.check_validity(clock.now()),
        Err(ProfileError::NotYetValid { valid_from: t0() })
    );
    clock.advance(Duration::seconds(1));
    assert_eq!(parsed.check_validity(clock.now()), Ok(()));
    clock.advance(Duration::hours(1));
    assert_eq!(
        parsed.check_validity(clock.now()),
        Err(ProfileError::Expired {
            valid_until: t0() + Duration::hours(1)
        })
    );
    let sd = from_sd_jwt_vc_claims(&sd_claims(&full_claims())).unwrap();
    assert!(matches!(
        sd.check_validity(clock.now()),
        Err(ProfileError::Expired { .. })
    ));
    assert_eq!(sd.check_validity(t0()), Ok(()));
}

// E2: credentialSubject.id is the client_id.
#[test]
fn e2_subject_must_be_one_object_with_a_client_id() {
    let doc = edit(vc_doc(&full_claims()), |d| {
        d["credentialSubject"]["id"] = json!("https://a.example/");
    });
    assert_eq!(
        from_vc_document(&doc),
        Err(ProfileError::InvalidSubject(ClientIdError::MissingPath))
    );
    let doc = edit(vc_doc(&full_claims()), |d| {
        d["credentialSubject"]
            .as_object_mut()
            .unwrap()
            .shift_remove("id");
    });
    assert_eq!(
        from_vc_document(&doc),
        Err(ProfileError::MissingClaim {
            claim: "credentialSubject.id"
        })
    );
    let doc = edit(vc_doc(&full_claims()), |d| {
        let s = d["credentialSubject"].clone();
        d["credentialSubject"] = json!([s]);
    });
    assert_eq!(from_vc_document(&doc), Err(ProfileError::MultipleSubjects));
}

// B1: entry rules; status is mandatory (fail closed).
#[test]
fn b1_status_entries_are_validated() {
    let doc = edit(vc_doc(&full_claims()), |d| {
        d.as_object_mut().unwrap().shift_remove("credentialStatus");
    });
    assert_eq!(
        from_vc_document(&doc),
        Err(ProfileError::MissingRevocationStatus)
    );
    // Only a suspension entry: no revocation entry.
    let doc = edit(vc_doc(&full_claims()), |d| {
        d["credentialStatus"].as_array_mut().unwrap().remove(0);
    });
    assert_eq!(
        from_vc_document(&doc),
        Err(ProfileError::MissingRevocationStatus)
    );
    // A single object instead of an array is accepted.
    let doc = edit(vc_doc(&full_claims()), |d| {
        d["credentialStatus"] = d["credentialStatus"][0].clone();
    });
    assert!(from_vc_document(&doc).is_ok());
    // Entries of unknown types are ignored (J5).
    let doc = edit(vc_doc(&full_claims()), |d| {
        d["credentialStatus"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "SomeOtherStatus"}));
    });
    assert_eq!(from_vc_document(&doc).unwrap().status.len(), 2);
    for (field, value) in [
        ("statusListIndex", json!("-1")),
        ("statusListIndex", json!("1e3")),
        ("statusListIndex", json!("")),
        ("statusListIndex", json!(5)),
        ("statusListIndex", json!("99999999999999999999999")),
        ("statusListCredential", json!("http://a.example/status/1")),
        ("id", json!(LIST)),
        ("statusSize", json!(0)),
        ("statusSize", json!(2)),
    ] {
        let doc = edit(vc_doc(&full_claims()), |d| {
            d["credentialStatus"][0][field] = value.clone();
        });
        assert!(
            matches!(
                from_vc_document(&doc),
                Err(ProfileError::InvalidStatusEntry { index: 0, .. })
            ),
            "{field} = {value}"
        );
    }
}

// V2: vct is required and must be ours.
#[test]
fn v2_vct_is_required_and_checked() {
    let sd = edit(sd_claims(&full_claims()), |c| {
        c["vct"] = json!("urn:crossauthz:vct:agent-authorization:2");
    });
    assert!(matches!(
        from_sd_jwt_vc_claims(&sd),
        Err(ProfileError::WrongVct { .. })
    ));
    let sd = edit(sd_claims(&full_claims()), |c| {
        c.as_object_mut().unwrap().shift_remove("vct");
    });
    assert_eq!(
        from_sd_jwt_vc_claims(&sd),
        Err(ProfileError::MissingClaim { claim: "vct" })
    );
}

#[test]
fn sd_jwt_vc_registered_claims_are_required() {
    for claim in ["iss", "sub", "exp", "cnf", "status"] {
        let sd = edit(sd_claims(&full_claims()), |c| {
            c.as_object_mut().unwrap().shift_remove(claim);
        });
        assert_eq!(
            from_sd_jwt_vc_claims(&sd),
            Err(ProfileError::MissingClaim { claim }),
            "{claim}"
        );
    }
    let sd = edit(sd_claims(&full_claims()), |c| c["exp"] = json!("soon"));
    assert_eq!(
        from_sd_jwt_vc_claims(&sd),
        Err(ProfileError::InvalidTimestamp { claim: "exp" })
    );
    let sd = edit(sd_claims(&full_claims()), |c| c["nbf"] = c["exp"].clone());
    assert_eq!(from_sd_jwt_vc_claims(&sd), Err(ProfileError::EmptyValidity));
}

// V3 / holder binding: cnf.jwk is a public key passing the JWK policy.
#[test]
fn v3_holder_key_must_be_a_public_key() {
    let sd = edit(sd_claims(&full_claims()), |c| {
        c["cnf"]["jwk"]["d"] = json!("private");
    });
    assert_eq!(
        from_sd_jwt_vc_claims(&sd),
        Err(ProfileError::InvalidHolderKey(
            JwkPolicyError::PrivateMember {
                name: "d".to_owned()
            }
        ))
    );
    let subject = subject();
    let status = TokenStatusRef {
        idx: 0,
        uri: "https://a.example/status/1".to_owned(),
    };
    let claims = full_claims();
    let oct = json!({"kty": "oct"});
    assert_eq!(
        to_sd_jwt_vc_claims(&SdJwtVcInput {
            issuer: ISSUER,
            subject: &subject,
            issued_at: t0(),
            valid_from: t0(),
            valid_until: t0() + Duration::hours(1),
            holder_jwk: &oct,
            status: &status,
            claims: &claims,
        }),
        Err(ProfileError::InvalidHolderKey(JwkPolicyError::SymmetricKey))
    );
}

// T3: status.status_list {idx non-negative integer, uri}.
#[test]
fn t3_status_list_reference_is_validated() {
    for (idx, uri) in [
        (json!(-1), json!("https://a.example/s")),
        (json!("7"), json!("https://a.example/s")),
        (json!(1.5), json!("https://a.example/s")),
        (json!(7), json!("http://a.example/s")),
        (json!(7), json!(null)),
    ] {
        let sd = edit(sd_claims(&full_claims()), |c| {
            c["status"] = json!({"status_list": {"idx": idx, "uri": uri}});
        });
        assert!(
            matches!(
                from_sd_jwt_vc_claims(&sd),
                Err(ProfileError::InvalidStatusEntry { .. })
            ),
            "{idx} {uri}"
        );
    }
}

#[test]
fn s2_unprocessed_sd_jwt_digests_are_refused() {
    let sd = edit(sd_claims(&full_claims()), |c| {
        c["_sd"] = json!(["digest"]);
    });
    assert_eq!(
        from_sd_jwt_vc_claims(&sd),
        Err(ProfileError::UnprocessedSdJwt("_sd"))
    );
    let sd = edit(sd_claims(&full_claims()), |c| {
        c["flags"] = json!([{"...": "digest"}]);
    });
    assert_eq!(
        from_sd_jwt_vc_claims(&sd),
        Err(ProfileError::UnprocessedSdJwt("..."))
    );
}

#[test]
fn sd_jwt_vc_issuer_may_be_https_or_did_web() {
    let sd = edit(sd_claims(&full_claims()), |c| c["iss"] = json!(ISSUER));
    assert!(from_sd_jwt_vc_claims(&sd).is_ok());
    for bad in ["http://a.example", "did:key:z6Mk", "a.example"] {
        let sd = edit(sd_claims(&full_claims()), |c| c["iss"] = json!(bad));
        assert!(
            matches!(
                from_sd_jwt_vc_claims(&sd),
                Err(ProfileError::InvalidIssuer { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn agent_type_wire_names_are_kebab_case() {
    for (t, s) in AgentType::ALL.iter().zip([
        "tool-agent",
        "orchestrator-agent",
        "workflow-agent",
        "system-agent",
        "ephemeral-agent",
    ]) {
        assert_eq!(serde_json::to_value(t).unwrap(), json!(s));
        assert_eq!(AgentType::parse(s), Ok(*t));
    }
}

#[test]
fn expired_attestations_are_listed_for_the_compliance_monitor() {
    let claims = full_claims();
    assert!(claims.expired_attestations(t0()).is_empty());
    let later = claims.expired_attestations(t0() + Duration::days(30));
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].standard, "SOC2");
}
