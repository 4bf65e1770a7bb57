//! Writes credentials made by this crate into a directory, for `interop/verify.py` to check with
//! independent implementations (jwcrypto and the OpenWallet `sd-jwt` reference library).
//!
//! `cargo run -p crossauthz-credentials --example interop_emit -- <dir>` writes:
//! - `vc_eddsa.jwt`, `vc_es256.jwt`: `vc+jwt` credentials; `issuer_eddsa.jwk.json`,
//!   `issuer_es256.jwk.json`: the issuers' public JWKs (with `kid` = the DID URL);
//! - `sd_es256.txt`, `sd_eddsa.txt`: `dc+sd-jwt` presentations with KB-JWT (issuer and holder
//!   ES256, resp. EdDSA); `holder_es256.jwk.json`, `holder_eddsa.jwk.json`;
//! - `expected.json`: the expected `aud`, `nonce`, and the processed payload of each presentation;
//! - `tampered/…`: altered copies that every verifier must reject (see `expected.json`).

use std::error::Error;
use std::fs;
use std::path::Path;

use chrono::{TimeDelta, Utc};
use crossauthz_credentials::did_web::{DidDocument, did_document, method_id};
use crossauthz_credentials::jose::{b64url_decode, b64url_encode};
use crossauthz_credentials::keys::{Algorithm, SigningKey};
use crossauthz_credentials::sd_jwt::{
    self, IssueOptions, KeyBindingInput, KeyBindingPolicy, VerifyOptions,
};
use crossauthz_credentials::vc_jwt;
use serde_json::{Value, json};

const AUD: &str = "https://b.example";
const NONCE: &str = "interop-nonce-7f3a";

struct Party {
    did: String,
    key: SigningKey,
    kid: String,
    doc: DidDocument,
}

fn party(host: &str, alg: Algorithm) -> Result<Party, Box<dyn Error>> {
    let did = format!("did:web:{host}");
    let key = SigningKey::generate(alg)?;
    let kid = method_id(&did, &key.public_jwk());
    let doc = DidDocument::parse(&did_document(&did, &[key.public_jwk()]), &did)?;
    Ok(Party { did, key, kid, doc })
}

fn write_json(dir: &Path, name: &str, v: &Value) -> Result<(), Box<dyn Error>> {
    fs::write(dir.join(name), serde_json::to_string_pretty(v)? + "\n")?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: interop_emit <output directory>")?;
    let dir = Path::new(&dir);
    fs::create_dir_all(dir.join("tampered"))?;
    let now = Utc::now();
    let skew = TimeDelta::seconds(60);
    let mut expected = json!({"aud": AUD, "nonce": NONCE, "sd_jwt": {}, "tampered": {}});

    // --- vc+jwt, one per algorithm ---
    for (alg, tag, host) in [
        (Algorithm::EdDSA, "eddsa", "issuer-eddsa.example"),
        (Algorithm::ES256, "es256", "issuer-es256.example"),
    ] {
        let issuer = party(host, alg)?;
        let vc = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
            "type": ["VerifiableCredential", "AgentAuthorizationCredential"],
            "issuer": issuer.did,
            "validFrom": (now - TimeDelta::minutes(1)).to_rfc3339(),
            "validUntil": (now + TimeDelta::hours(1)).to_rfc3339(),
            "credentialSubject": {
                "id": "https://a.example/agents/42/client-metadata.json",
                "agentType": "tool-agent",
                "authorizedScopes": ["logs:read"],
                "issuerDomain": "a.example"
            }
        });
        let jws = vc_jwt::issue(&vc, &issuer.key, &issuer.kid)?;
        vc_jwt::verify(&jws, &issuer.doc, now, skew)?;
        fs::write(dir.join(format!("vc_{tag}.jwt")), &jws)?;
        let jwk = issuer.key.public_jwk().with_kid(issuer.kid.clone());
        write_json(dir, &format!("issuer_{tag}.jwk.json"), &jwk.to_json())?;

        // Tampered: widen the scopes, keep header and signature.
        let parts: Vec<&str> = jws.split('.').collect();
        let mut evil = vc.clone();
        evil["credentialSubject"]["authorizedScopes"] = json!(["logs:read", "admin"]);
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            b64url_encode(evil.to_string().as_bytes()),
            parts[2]
        );
        fs::write(dir.join(format!("tampered/vc_{tag}.jwt")), tampered)?;
        expected["tampered"][format!("vc_{tag}.jwt")] = json!({
            "kind": "vc+jwt", "issuer_jwk": format!("issuer_{tag}.jwk.json"),
            "why": "payload changed after signing"
        });
    }

    // --- dc+sd-jwt presentations with KB-JWT ---
    for (alg, tag) in [(Algorithm::ES256, "es256"), (Algorithm::EdDSA, "eddsa")] {
        let issuer = party(&format!("issuer-{tag}.example"), alg)?;
        let holder = SigningKey::generate(alg)?;
        let t = now.timestamp();
        let claims = json!({
            "iss": issuer.did,
            "vct": "https://a.example/vct/agent-authorization",
            "iat": t,
            "exp": t + 3600,
            "cnf": {"jwk": holder.public_jwk().to_json()},
            "status": {"status_list": {"idx": 7, "uri": "https://a.example/status/1"}},
            "sub": "https://a.example/agents/42/client-metadata.json",
            "agentType": "tool-agent",
            "authorizedScopes": ["logs:read", "logs:write", "metrics:read"],
            "complianceAttestations": [{"standard": "SOC2", "scope": "ops"}],
            "provenance": {"repo": "https://git.example/agent", "commit": "abc123"}
        });
        let issued = sd_jwt::issue(
            &claims,
            &[
                "/complianceAttestations",
                "/provenance/commit",
                "/provenance",
                "/authorizedScopes/1",
                "/sub",
            ],
            &issuer.key,
            &issuer.kid,
            &IssueOptions { decoys: 2 },
        )?;
        let kb = KeyBindingInput {
            holder_key: &holder,
            aud: AUD,
            nonce: NONCE,
            iat: now,
        };
        let reveal = ["/sub", "/provenance/commit", "/authorizedScopes/1"];
        let presentation = sd_jwt::present(&issued, &reveal, Some(&kb))?;
        let opts = VerifyOptions {
            now,
            skew,
            key_binding: KeyBindingPolicy::Required {
                aud: AUD.into(),
                nonce: NONCE.into(),
                max_age: TimeDelta::minutes(5),
            },
        };
        let verified = sd_jwt::verify(&presentation, &issuer.doc, &opts)?;
        fs::write(dir.join(format!("sd_{tag}.txt")), &presentation)?;
        let ijwk = issuer.key.public_jwk().with_kid(issuer.kid.clone());
        write_json(dir, &format!("sd_issuer_{tag}.jwk.json"), &ijwk.to_json())?;
        write_json(
            dir,
            &format!("holder_{tag}.jwk.json"),
            &holder.public_jwk().to_json(),
        )?;
        expected["sd_jwt"][format!("sd_{tag}.txt")] = json!({
            "issuer_jwk": format!("sd_issuer_{tag}.jwk.json"),
            "holder_jwk": format!("holder_{tag}.jwk.json"),
            "processed": verified.claims,
        });

        let base = &presentation[..=presentation.rfind('~').ok_or("no ~")?];
        let jwt = presentation.split('~').next().ok_or("no jwt")?;

        // Tampered 1: issuer payload changed (agentType raised), KB recomputed by the holder.
        let jparts: Vec<&str> = jwt.split('.').collect();
        let mut payload: Value = serde_json::from_slice(&b64url_decode(jparts[1]).ok_or("b64")?)?;
        payload["agentType"] = json!("system-agent");
        let evil_jwt = format!(
            "{}.{}.{}",
            jparts[0],
            b64url_encode(payload.to_string().as_bytes()),
            jparts[2]
        );
        let evil = sd_jwt::present(&base.replacen(jwt, &evil_jwt, 1), &reveal, Some(&kb))?;
        fs::write(dir.join(format!("tampered/sd_{tag}_payload.txt")), evil)?;

        // Tampered 2: a forged Disclosure appended, with a KB-JWT the holder signs over it.
        let forged = b64url_encode(
            json!([
                "c2FsdHNhbHRzYWx0c2FsdA",
                "dataSensitivityClearance",
                "regulated"
            ])
            .to_string()
            .as_bytes(),
        );
        let forged_base = format!("{base}{forged}~");
        let forged_kb = {
            let claims = json!({
                "iat": now.timestamp(), "aud": AUD, "nonce": NONCE,
                "sd_hash": sd_jwt::sha256_b64(&forged_base),
            });
            crossauthz_credentials::jose::sign_compact(&holder, sd_jwt::KB_TYP, None, &claims)?
        };
        fs::write(
            dir.join(format!("tampered/sd_{tag}_forged_disclosure.txt")),
            format!("{forged_base}{forged_kb}"),
        )?;

        // Tampered 3: a Disclosure dropped after the KB-JWT was signed (sd_hash mismatch).
        let comps: Vec<&str> = presentation.split('~').collect();
        let mut dropped: Vec<&str> = comps.clone();
        dropped.remove(1);
        fs::write(
            dir.join(format!("tampered/sd_{tag}_sd_hash.txt")),
            dropped.join("~"),
        )?;

        for (name, why) in [
            ("payload", "issuer-signed payload changed"),
            (
                "forged_disclosure",
                "Disclosure not referenced by any digest",
            ),
            ("sd_hash", "Disclosure removed after key binding"),
        ] {
            expected["tampered"][format!("sd_{tag}_{name}.txt")] = json!({
                "kind": "dc+sd-jwt",
                "issuer_jwk": format!("sd_issuer_{tag}.jwk.json"),
                "holder_jwk": format!("holder_{tag}.jwk.json"),
                "why": why,
            });
        }
    }
    write_json(dir, "expected.json", &expected)?;
    println!("wrote interop artefacts to {}", dir.display());
    Ok(())
}
