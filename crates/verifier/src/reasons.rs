//! Deny reasons: the machine-readable `code` of every way a decision can fail (one constant
//! each, listed in [`codes`]), the OAuth error each one maps to, and [`DenyReason`], the value a
//! denied decision carries (DESIGN §6: fail closed at the first failure, say why).
//!
//! Codes are stable API: the gateway turns them into token-endpoint errors, operators and the
//! compliance monitor read them from the audit log. Descriptions are safe to show to the client:
//! they never carry store errors, keys, tokens or internal addresses.

use std::fmt;

/// Every deny code, one constant per failure. Grouped by the DESIGN §6 step that produces it.
pub mod codes {
    // --- request shape (checked before anything is fetched) ---
    /// `grant_type` is not one this AS serves.
    pub const GRANT_TYPE_UNSUPPORTED: &str = "grant_type_unsupported";
    /// No scope was requested.
    pub const SCOPE_MISSING: &str = "scope_missing";
    /// A requested scope is not an RFC 6749 scope token.
    pub const SCOPE_INVALID: &str = "scope_invalid";
    /// The `resource` indicator is missing or not a resource this AS issues tokens for (A3).
    pub const INVALID_TARGET: &str = "invalid_target";
    /// A refresh asks for a scope the grant it refreshes did not have (RFC 6749 §6).
    pub const REFRESH_SCOPE_WIDENED: &str = "refresh_scope_widened";

    // --- step 1: client_id URL rules (C1) ---
    /// C1: the client_id is not `https`.
    pub const CLIENT_ID_NOT_HTTPS: &str = "client_id_not_https";
    /// C1: the client_id has no host.
    pub const CLIENT_ID_NO_HOST: &str = "client_id_no_host";
    /// C1: the client_id contains userinfo.
    pub const CLIENT_ID_USERINFO: &str = "client_id_userinfo";
    /// C1: the client_id has an invalid port.
    pub const CLIENT_ID_PORT: &str = "client_id_port";
    /// C1: the client_id has no path naming the document.
    pub const CLIENT_ID_NO_PATH: &str = "client_id_no_path";
    /// C1: the client_id has a `.` or `..` segment.
    pub const CLIENT_ID_DOT_SEGMENT: &str = "client_id_dot_segment";
    /// C1: the client_id has a query (SHOULD NOT; refused here).
    pub const CLIENT_ID_QUERY: &str = "client_id_query";
    /// C1: the client_id has a fragment.
    pub const CLIENT_ID_FRAGMENT: &str = "client_id_fragment";
    /// C1: the client_id is not a well-formed URI (characters, percent-encoding, length).
    pub const CLIENT_ID_MALFORMED: &str = "client_id_malformed";

    // --- step 1: the fetch (C2, C5, C11, C12) ---
    /// C11: the URL resolves (or connected) to a forbidden address.
    pub const SSRF_BLOCKED: &str = "ssrf_blocked";
    /// C2: the server answered with a redirect.
    pub const FETCH_REDIRECT: &str = "fetch_redirect";
    /// C2: the server answered with a status other than 200.
    pub const FETCH_STATUS: &str = "fetch_status";
    /// C5: the response is not JSON.
    pub const FETCH_CONTENT_TYPE: &str = "fetch_content_type";
    /// C12: the response exceeds the size cap.
    pub const FETCH_TOO_LARGE: &str = "fetch_too_large";
    /// The fetch timed out.
    pub const FETCH_TIMEOUT: &str = "fetch_timeout";
    /// The fetch failed (DNS, connection, TLS, protocol).
    pub const FETCH_FAILED: &str = "fetch_failed";

    // --- step 2: document rules (C3, C4, C8, C10, C15, M2, M7) ---
    /// The document is not a valid client metadata document (JSON, members, types, M2).
    pub const DOCUMENT_INVALID: &str = "document_invalid";
    /// C3: the document's `client_id` is not the URL it was fetched from.
    pub const CLIENT_ID_MISMATCH: &str = "client_id_mismatch";
    /// C4: a shared-secret `token_endpoint_auth_method`.
    pub const SECRET_AUTH_METHOD: &str = "secret_auth_method";
    /// C4: the document contains `client_secret` / `client_secret_expires_at`.
    pub const SECRET_IN_DOCUMENT: &str = "secret_in_document";
    /// An authentication method this AS does not support.
    pub const AUTH_METHOD_UNSUPPORTED: &str = "auth_method_unsupported";
    /// C15: `token_endpoint_auth_method` omitted while keys are published.
    pub const AUTH_METHOD_MISSING: &str = "auth_method_missing";
    /// C10: `private_key_jwt` without `jwks` or `jwks_uri`.
    pub const KEYS_MISSING: &str = "keys_missing";
    /// The `jwks` / `jwks_uri` keys break the JWK policy (EdDSA/ES256, public only).
    pub const JWKS_INVALID: &str = "jwks_invalid";
    /// The `jwks_uri` could not be fetched.
    pub const JWKS_UNAVAILABLE: &str = "jwks_unavailable";
    /// M2/M7: `redirect_uris` missing or not acceptable.
    pub const REDIRECT_URIS_INVALID: &str = "redirect_uris_invalid";
    /// C8: the `redirect_uri` is not exactly one of the document's.
    pub const REDIRECT_URI_MISMATCH: &str = "redirect_uri_mismatch";
    /// The document does not list the requested grant type.
    pub const GRANT_TYPE_NOT_ALLOWED: &str = "grant_type_not_allowed";

    // --- step 3: client authentication (P1–P5, C10) ---
    /// C10: a confidential client sent no assertion.
    pub const ASSERTION_MISSING: &str = "assertion_missing";
    /// P1: `client_assertion_type` is not jwt-bearer.
    pub const ASSERTION_TYPE_INVALID: &str = "assertion_type_invalid";
    /// A public client sent an assertion.
    pub const ASSERTION_UNEXPECTED: &str = "assertion_unexpected";
    /// P1/P4: the assertion is not one well-formed, explicitly typed JWT with the required claims.
    pub const ASSERTION_INVALID: &str = "assertion_invalid";
    /// P5: `alg` is `none`, HS*, RS* or any other than EdDSA/ES256.
    pub const ASSERTION_ALG_DISALLOWED: &str = "assertion_alg_disallowed";
    /// P5: no key of the document verifies the signature.
    pub const ASSERTION_BAD_SIGNATURE: &str = "assertion_bad_signature";
    /// P2: `iss` or `sub` is not the client_id.
    pub const ASSERTION_ISSUER_MISMATCH: &str = "assertion_issuer_mismatch";
    /// P3: `aud` is not this AS's issuer as its only value.
    pub const ASSERTION_WRONG_AUDIENCE: &str = "assertion_wrong_audience";
    /// P4: `exp` has passed.
    pub const ASSERTION_EXPIRED: &str = "assertion_expired";
    /// `nbf` / `iat` lies in the future.
    pub const ASSERTION_NOT_YET_VALID: &str = "assertion_not_yet_valid";
    /// `exp` is further ahead than the configured maximum lifetime.
    pub const ASSERTION_LIFETIME_TOO_LONG: &str = "assertion_lifetime_too_long";
    /// P4: no `jti`.
    pub const ASSERTION_JTI_MISSING: &str = "assertion_jti_missing";
    /// P4: the `jti` was already used within its lifetime.
    pub const ASSERTION_REPLAYED: &str = "assertion_replayed";
    /// A public client asked for a grant that needs client authentication.
    pub const CLIENT_AUTH_REQUIRED: &str = "client_auth_required";

    // --- step 4: credential (J1–J5, S1–S7, V1–V4, E2) ---
    /// The `dc+sd-jwt` presentation or its key binding is not acceptable (S1–S7).
    pub const PRESENTATION_INVALID: &str = "presentation_invalid";
    /// The credential is malformed or does not fit the Agent Authorization Credential profile.
    pub const CREDENTIAL_INVALID: &str = "credential_invalid";
    /// The issuer is not on this domain's trust list for this credential type and issuer domain.
    pub const ISSUER_UNTRUSTED: &str = "issuer_untrusted";
    /// The issuer's `did:web` document could not be fetched or parsed.
    pub const ISSUER_KEY_UNAVAILABLE: &str = "issuer_key_unavailable";
    /// The issuer publishes no assertion key with the credential's `kid`.
    pub const ISSUER_KEY_UNKNOWN: &str = "issuer_key_unknown";
    /// The credential's signature does not verify.
    pub const CREDENTIAL_BAD_SIGNATURE: &str = "credential_bad_signature";
    /// The credential has expired.
    pub const CREDENTIAL_EXPIRED: &str = "credential_expired";
    /// The credential is not valid yet.
    pub const CREDENTIAL_NOT_YET_VALID: &str = "credential_not_yet_valid";
    /// `credentialSubject.id` (or `sub`) is not the client_id.
    pub const CREDENTIAL_SUBJECT_MISMATCH: &str = "credential_subject_mismatch";
    /// The credential's holder key is not the key that authenticated the client.
    pub const HOLDER_KEY_MISMATCH: &str = "holder_key_mismatch";

    // --- step 5: status (T1–T5, B1–B4) ---
    /// The credential is revoked (or has a status value this AS does not know).
    pub const CREDENTIAL_REVOKED: &str = "credential_revoked";
    /// The credential is suspended.
    pub const CREDENTIAL_SUSPENDED: &str = "credential_suspended";
    /// The status list could not be fetched, parsed or verified.
    pub const STATUS_UNAVAILABLE: &str = "status_unavailable";
    /// The credential's status entry does not fit its list (index out of range, wrong purpose).
    pub const STATUS_INVALID: &str = "status_invalid";

    // --- step 6: policy ---
    /// None of the requested scopes is both authorized by the credential and offered by the resource.
    pub const SCOPE_NOT_AUTHORIZED: &str = "scope_not_authorized";
    /// The policy permits none of the remaining scopes (default deny).
    pub const POLICY_DENIED: &str = "policy_denied";

    /// Every code, for look-ups and the uniqueness test.
    pub const ALL: &[&str] = &[
        GRANT_TYPE_UNSUPPORTED,
        SCOPE_MISSING,
        SCOPE_INVALID,
        INVALID_TARGET,
        REFRESH_SCOPE_WIDENED,
        CLIENT_ID_NOT_HTTPS,
        CLIENT_ID_NO_HOST,
        CLIENT_ID_USERINFO,
        CLIENT_ID_PORT,
        CLIENT_ID_NO_PATH,
        CLIENT_ID_DOT_SEGMENT,
        CLIENT_ID_QUERY,
        CLIENT_ID_FRAGMENT,
        CLIENT_ID_MALFORMED,
        SSRF_BLOCKED,
        FETCH_REDIRECT,
        FETCH_STATUS,
        FETCH_CONTENT_TYPE,
        FETCH_TOO_LARGE,
        FETCH_TIMEOUT,
        FETCH_FAILED,
        DOCUMENT_INVALID,
        CLIENT_ID_MISMATCH,
        SECRET_AUTH_METHOD,
        SECRET_IN_DOCUMENT,
        AUTH_METHOD_UNSUPPORTED,
        AUTH_METHOD_MISSING,
        KEYS_MISSING,
        JWKS_INVALID,
        JWKS_UNAVAILABLE,
        REDIRECT_URIS_INVALID,
        REDIRECT_URI_MISMATCH,
        GRANT_TYPE_NOT_ALLOWED,
        ASSERTION_MISSING,
        ASSERTION_TYPE_INVALID,
        ASSERTION_UNEXPECTED,
        ASSERTION_INVALID,
        ASSERTION_ALG_DISALLOWED,
        ASSERTION_BAD_SIGNATURE,
        ASSERTION_ISSUER_MISMATCH,
        ASSERTION_WRONG_AUDIENCE,
        ASSERTION_EXPIRED,
        ASSERTION_NOT_YET_VALID,
        ASSERTION_LIFETIME_TOO_LONG,
        ASSERTION_JTI_MISSING,
        ASSERTION_REPLAYED,
        CLIENT_AUTH_REQUIRED,
        PRESENTATION_INVALID,
        CREDENTIAL_INVALID,
        ISSUER_UNTRUSTED,
        ISSUER_KEY_UNAVAILABLE,
        ISSUER_KEY_UNKNOWN,
        CREDENTIAL_BAD_SIGNATURE,
        CREDENTIAL_EXPIRED,
        CREDENTIAL_NOT_YET_VALID,
        CREDENTIAL_SUBJECT_MISMATCH,
        HOLDER_KEY_MISMATCH,
        CREDENTIAL_REVOKED,
        CREDENTIAL_SUSPENDED,
        STATUS_UNAVAILABLE,
        STATUS_INVALID,
        SCOPE_NOT_AUTHORIZED,
        POLICY_DENIED,
    ];

    /// The constant for `code`, if it is one of ours.
    pub fn lookup(code: &str) -> Option<&'static str> {
        ALL.iter().copied().find(|c| *c == code)
    }
}

/// The OAuth error a denied token (or authorization) request answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OAuthError {
    /// `invalid_request` (RFC 6749 §5.2), e.g. a redirect URI mismatch.
    InvalidRequest,
    /// `invalid_client`: client authentication or the client's document/credential failed
    /// (C10, P5, E2).
    InvalidClient,
    /// `unauthorized_client`: the client may not use this grant type.
    UnauthorizedClient,
    /// `unsupported_grant_type`.
    UnsupportedGrantType,
    /// `invalid_scope`: nothing requested can be granted.
    InvalidScope,
    /// `invalid_target` (RFC 8707 §2): unknown or missing resource.
    InvalidTarget,
}

impl OAuthError {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
        }
    }

    /// The OAuth error of a deny code (one table for the whole verifier).
    pub fn for_code(code: &str) -> Self {
        use codes::*;
        match code {
            GRANT_TYPE_UNSUPPORTED => Self::UnsupportedGrantType,
            GRANT_TYPE_NOT_ALLOWED => Self::UnauthorizedClient,
            SCOPE_MISSING
            | SCOPE_INVALID
            | SCOPE_NOT_AUTHORIZED
            | POLICY_DENIED
            | REFRESH_SCOPE_WIDENED => Self::InvalidScope,
            INVALID_TARGET => Self::InvalidTarget,
            REDIRECT_URI_MISMATCH => Self::InvalidRequest,
            _ => Self::InvalidClient,
        }
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request was denied: a stable `code` (one of [`codes::ALL`]), a description safe to
/// show to the client, and the OAuth error for the token response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenyReason {
    /// The machine-readable code.
    pub code: &'static str,
    /// Safe to show to the client.
    pub description: String,
    /// The OAuth error.
    pub oauth_error: OAuthError,
}

/// Separator between code and description when a reason travels through the fetcher's
/// validator as a string (an invalid document is never cached, C7, and every waiter of a
/// single-flight fetch must get the same typed reason).
const WIRE_SEPARATOR: &str = ": ";

impl DenyReason {
    /// A reason with the OAuth error of its code.
    pub fn new(code: &'static str, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            oauth_error: OAuthError::for_code(code),
        }
    }

    /// The reason as one string (`code: description`) for the fetcher's validator.
    pub(crate) fn to_validator_message(&self) -> String {
        format!("{}{WIRE_SEPARATOR}{}", self.code, self.description)
    }

    /// Reads back [`to_validator_message`](Self::to_validator_message); a message that does not
    /// start with one of our codes becomes `fallback`.
    pub(crate) fn from_validator_message(message: &str, fallback: &'static str) -> Self {
        match message
            .split_once(WIRE_SEPARATOR)
            .and_then(|(code, rest)| codes::lookup(code).map(|c| (c, rest)))
        {
            Some((code, description)) => Self::new(code, description),
            None => Self::new(fallback, message),
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.code, self.oauth_error, self.description
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_distinct_lowercase_and_listed_once() {
        let set: std::collections::HashSet<_> = codes::ALL.iter().collect();
        assert_eq!(set.len(), codes::ALL.len());
        for code in codes::ALL {
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
            assert_eq!(codes::lookup(code), Some(*code));
        }
        assert_eq!(codes::lookup("nope"), None);
    }

    #[test]
    fn oauth_errors_follow_the_step() {
        assert_eq!(
            OAuthError::for_code(codes::ASSERTION_REPLAYED),
            OAuthError::InvalidClient
        );
        assert_eq!(
            OAuthError::for_code(codes::CREDENTIAL_REVOKED),
            OAuthError::InvalidClient
        );
        assert_eq!(
            OAuthError::for_code(codes::POLICY_DENIED),
            OAuthError::InvalidScope
        );
        assert_eq!(
            OAuthError::for_code(codes::INVALID_TARGET),
            OAuthError::InvalidTarget
        );
        assert_eq!(
            OAuthError::for_code(codes::GRANT_TYPE_NOT_ALLOWED),
            OAuthError::UnauthorizedClient
        );
        assert_eq!(
            OAuthError::for_code(codes::REFRESH_SCOPE_WIDENED),
            OAuthError::InvalidScope
        );
        assert_eq!(
            OAuthError::for_code(codes::CLIENT_AUTH_REQUIRED),
            OAuthError::InvalidClient
        );
    }

    #[test]
    fn validator_message_round_trips_and_unknown_codes_fall_back() {
        let r = DenyReason::new(codes::CLIENT_ID_MISMATCH, "client_id differs: a: b");
        let back =
            DenyReason::from_validator_message(&r.to_validator_message(), codes::DOCUMENT_INVALID);
        assert_eq!(back, r);
        let other = DenyReason::from_validator_message("garbage", codes::DOCUMENT_INVALID);
        assert_eq!(other.code, codes::DOCUMENT_INVALID);
        assert_eq!(other.description, "garbage");
    }

    proptest::proptest! {
        #[test]
        fn validator_message_parser_never_panics(s in "\\PC{0,80}") {
            let r = DenyReason::from_validator_message(&s, codes::DOCUMENT_INVALID);
            proptest::prop_assert!(codes::lookup(r.code).is_some());
        }
    }
}
