#!/usr/bin/env python3
"""Verify crossauthz credentials with independent implementations.

Reads the directory written by
`cargo run -p crossauthz-credentials --example interop_emit -- <dir>` and checks:

* every `vc+jwt` with jwcrypto (JWS signature, EdDSA/ES256 only, `typ`, VC-JOSE-COSE rules
  J2/J4/J5, issuer binding of `kid`);
* every `dc+sd-jwt` presentation twice: with the OpenWallet `sd-jwt` reference library
  (issuer signature, disclosure processing, KB-JWT signature/aud/nonce/sd_hash), and by hand
  with jwcrypto + hashlib (`typ` values, every Disclosure digest referenced, `cnf.jwk` = holder
  key, KB-JWT `sd_hash`), comparing the processed payload with the one our verifier produced;
* that every artefact under `tampered/` is REJECTED.

Exits 0 only if every check passed; prints one line per check.
"""

import base64
import hashlib
import json
import sys
from pathlib import Path

from jwcrypto import jwk, jws
from sd_jwt.verifier import SDJWTVerifier

ALLOWED_ALGS = ["EdDSA", "ES256"]
VC_V2 = "https://www.w3.org/ns/credentials/v2"

results = []


def record(ok, what, detail=""):
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'}  {what}" + (f"  ({detail})" if detail else ""))


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url_sha256(s):
    digest = hashlib.sha256(s.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def load_jwk(path):
    return jwk.JWK.from_json(Path(path).read_text())


def jws_verify(token, key, expected_typ):
    """Verify a compact JWS with jwcrypto; return (header, payload)."""
    obj = jws.JWS()
    obj.allowed_algs = ALLOWED_ALGS
    obj.deserialize(token)
    obj.verify(key)
    header = obj.jose_header
    typ = header.get("typ", "")
    if typ.lower() not in (expected_typ, "application/" + expected_typ):
        raise ValueError(f"typ is {typ!r}, expected {expected_typ!r}")
    return header, json.loads(obj.payload)


def verify_vc(token, issuer_key_path):
    key = load_jwk(issuer_key_path)
    header, vc = jws_verify(token, key, "vc+jwt")
    if "vc" in vc or "vp" in vc:
        raise ValueError("claims set contains a vc/vp claim (J2)")
    if vc.get("@context", [None])[0] != VC_V2:
        raise ValueError("@context[0] is not the VC 2.0 context (J5)")
    issuer = vc["issuer"] if isinstance(vc["issuer"], str) else vc["issuer"]["id"]
    if "iss" in vc and vc["iss"] != issuer:
        raise ValueError("iss differs from issuer (J4)")
    kid = header.get("kid", "")
    if kid.split("#")[0] != issuer or kid != key.get("kid"):
        raise ValueError(f"kid {kid!r} is not the issuer's key")
    return vc


def collect_digests(value, out):
    if isinstance(value, dict):
        for d in value.get("_sd", []):
            out.append(d)
        for k, v in value.items():
            if k != "_sd":
                collect_digests(v, out)
    elif isinstance(value, list):
        for e in value:
            if isinstance(e, dict) and list(e.keys()) == ["..."]:
                out.append(e["..."])
            else:
                collect_digests(e, out)


def verify_sd_by_hand(presentation, issuer_key_path, holder_key_path, aud, nonce):
    parts = presentation.split("~")
    jwt, disclosures, kb_jwt = parts[0], parts[1:-1], parts[-1]
    if not kb_jwt:
        raise ValueError("no KB-JWT")
    _, payload = jws_verify(jwt, load_jwk(issuer_key_path), "dc+sd-jwt")
    if payload.get("_sd_alg", "sha-256") != "sha-256":
        raise ValueError("unexpected _sd_alg")
    if not isinstance(payload.get("vct"), str):
        raise ValueError("vct missing")
    digests = []
    collect_digests(payload, digests)
    for d in disclosures:
        collect_digests(json.loads(b64url_decode(d))[-1], digests)
    if len(digests) != len(set(digests)):
        raise ValueError("duplicate digest")
    for d in disclosures:
        if b64url_sha256(d) not in digests:
            raise ValueError("Disclosure not referenced by any digest")
    cnf = jwk.JWK(**payload["cnf"]["jwk"])
    if cnf.thumbprint() != load_jwk(holder_key_path).thumbprint():
        raise ValueError("cnf.jwk is not the holder key")
    _, kb = jws_verify(kb_jwt, cnf, "kb+jwt")
    if kb.get("aud") != aud or kb.get("nonce") != nonce:
        raise ValueError("KB-JWT aud/nonce mismatch")
    if not isinstance(kb.get("iat"), int):
        raise ValueError("KB-JWT iat missing")
    if kb.get("sd_hash") != b64url_sha256("~".join(parts[:-1]) + "~"):
        raise ValueError("KB-JWT sd_hash mismatch")
    return len(disclosures)


def verify_sd_reference(presentation, issuer_key_path, holder_key_path, aud, nonce):
    """The OpenWallet reference verifier. Its KB check defaults to ES256, so the KB step is
    called with the holder key's algorithm."""
    issuer_key = load_jwk(issuer_key_path)
    verifier = SDJWTVerifier(presentation, lambda iss, header: issuer_key)
    holder = json.loads(Path(holder_key_path).read_text())
    alg = "EdDSA" if holder["kty"] == "OKP" else "ES256"
    verifier._verify_key_binding_jwt(aud, nonce, sign_alg=alg)
    return verifier.get_verified_payload()


def expect_rejected(what, fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - any failure is the expected rejection
        record(True, f"rejected {what}", f"{type(e).__name__}: {e}"[:140])
        return
    record(False, f"rejected {what}", "was ACCEPTED")


def main():
    if len(sys.argv) != 2:
        print("usage: verify.py <dir written by interop_emit>", file=sys.stderr)
        return 2
    d = Path(sys.argv[1])
    expected = json.loads((d / "expected.json").read_text())
    aud, nonce = expected["aud"], expected["nonce"]

    for tag in ("eddsa", "es256"):
        token = (d / f"vc_{tag}.jwt").read_text()
        try:
            vc = verify_vc(token, d / f"issuer_{tag}.jwk.json")
            record(True, f"vc_{tag}.jwt verifies with jwcrypto", vc["issuer"])
        except Exception as e:  # noqa: BLE001
            record(False, f"vc_{tag}.jwt verifies with jwcrypto", repr(e))

    for name, info in expected["sd_jwt"].items():
        p = (d / name).read_text()
        ik, hk = d / info["issuer_jwk"], d / info["holder_jwk"]
        try:
            n = verify_sd_by_hand(p, ik, hk, aud, nonce)
            record(True, f"{name}: jwcrypto + hashlib (signatures, digests, sd_hash)", f"{n} disclosures")
        except Exception as e:  # noqa: BLE001
            record(False, f"{name}: jwcrypto + hashlib", repr(e))
        try:
            payload = verify_sd_reference(p, ik, hk, aud, nonce)
            same = payload == info["processed"]
            record(same, f"{name}: sd-jwt reference verifier, payload equals ours",
                   "" if same else json.dumps(payload)[:200])
        except Exception as e:  # noqa: BLE001
            record(False, f"{name}: sd-jwt reference verifier", repr(e))

    for name, info in expected["tampered"].items():
        p = (d / "tampered" / name).read_text()
        if info["kind"] == "vc+jwt":
            expect_rejected(f"tampered/{name} by jwcrypto ({info['why']})",
                            lambda: verify_vc(p, d / info["issuer_jwk"]))
            continue
        ik, hk = d / info["issuer_jwk"], d / info["holder_jwk"]
        expect_rejected(f"tampered/{name} by jwcrypto + hashlib ({info['why']})",
                        lambda: verify_sd_by_hand(p, ik, hk, aud, nonce))
        if "forged" in name:
            # The reference library (0.10.x) ignores unreferenced Disclosures instead of
            # rejecting them (RFC 9901 §7.1 step 5); check at least that the forged claim
            # does not reach its output.
            try:
                out = verify_sd_reference(p, ik, hk, aud, nonce)
                leaked = "dataSensitivityClearance" in out
                record(not leaked, f"tampered/{name}: forged claim absent from reference output")
            except Exception as e:  # noqa: BLE001
                record(True, f"rejected tampered/{name} by sd-jwt reference verifier", repr(e)[:140])
        else:
            expect_rejected(f"tampered/{name} by sd-jwt reference verifier ({info['why']})",
                            lambda: verify_sd_reference(p, ik, hk, aud, nonce))

    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
