//! Step 5: the credential's status, failing closed. A `vc+jwt` names W3C Bitstring Status List
//! credentials (B1–B4: purposes revocation and suspension), an SD-JWT VC an IETF Token Status
//! List (T1–T5). Each list is fetched with the SSRF-safe fetcher, verified against the SAME
//! issuer's DID document inside the fetcher's validator (so an unverifiable list is never
//! cached), and cached for at most its `ttl` (and never past its `exp` / `validUntil`).
//! Unreachable or unparsable list = deny; an unknown status value = revoked.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossauthz_credentials::did_web::DidDocument;
use crossauthz_credentials::status::{
    BitstringStatusError, BitstringStatusListCredential, BitstringStatusListEntry,
    StatusListReference, StatusPurpose, StatusType, VerifiedStatusListToken, check_entry,
    verify_status_list_credential_with_resolver, verify_status_list_token_with_resolver,
};

use crate::credential::StatusRefs;
use crate::fetch::{FetchError, Fetcher, ResourceKind};
use crate::reasons::{DenyReason, codes};

/// Why a status check denied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    /// The credential is revoked, or its status value is unknown (treated as revoked).
    #[error("the credential is revoked")]
    Revoked,
    /// The credential is suspended.
    #[error("the credential is suspended")]
    Suspended,
    /// The list could not be fetched, parsed or verified (STATUS_RETRIEVAL_ERROR /
    /// STATUS_VERIFICATION_ERROR): fail closed.
    #[error("the status list is unavailable: {0}")]
    Unavailable(String),
    /// The entry does not fit its list (RANGE_ERROR, purpose mismatch, list too short).
    #[error("the credential's status entry is invalid: {0}")]
    Invalid(String),
}

impl StatusError {
    /// The outcome label of the status-check metric.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Revoked => "revoked",
            Self::Suspended => "suspended",
            Self::Unavailable(_) => "unavailable",
            Self::Invalid(_) => "invalid",
        }
    }

    /// The deny reason of this error.
    pub fn deny_reason(&self) -> DenyReason {
        let code = match self {
            Self::Revoked => codes::CREDENTIAL_REVOKED,
            Self::Suspended => codes::CREDENTIAL_SUSPENDED,
            Self::Unavailable(_) => codes::STATUS_UNAVAILABLE,
            Self::Invalid(_) => codes::STATUS_INVALID,
        };
        DenyReason::new(code, self.to_string())
    }
}

fn unavailable(e: FetchError) -> StatusError {
    match e {
        FetchError::Invalid(reason) => StatusError::Unavailable(reason),
        FetchError::ForbiddenAddress { .. } => StatusError::Unavailable(
            "the status list URL resolves to a forbidden address (C11)".into(),
        ),
        other => StatusError::Unavailable(format!("{} ({})", other.code(), other)),
    }
}

/// A duration until `until`, zero if it is past.
fn until(now: DateTime<Utc>, until: DateTime<Utc>) -> Duration {
    (until - now).to_std().unwrap_or(Duration::ZERO)
}

/// The body of a status list response as a compact JWS string.
fn body_text(body: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(body)
        .map(str::trim)
        .map_err(|_| "the status list is not UTF-8".to_owned())
}

/// Fetches and verifies a Bitstring Status List credential at `url`, issued by `issuer`.
async fn bitstring_list(
    fetcher: &Fetcher,
    url: &str,
    issuer: &str,
    did: &Arc<DidDocument>,
    now: DateTime<Utc>,
) -> Result<Arc<BitstringStatusListCredential>, StatusError> {
    let did_for_load = Arc::clone(did);
    let issuer_for_load = issuer.to_owned();
    let load = move |fetched: &crate::fetch::Fetched| {
        let jws = body_text(&fetched.body)?;
        // The resolver is the credential issuer's own DID document: a list signed by any other
        // issuer fails key resolution (B4: same securing mechanism, same issuer).
        let list = verify_status_list_credential_with_resolver(jws, did_for_load.as_ref(), now)
            .map_err(|e| e.to_string())?;
        if list.issuer != issuer_for_load {
            return Err(format!(
                "status list issuer {} is not the credential issuer",
                list.issuer
            ));
        }
        let mut fresh = list.ttl_ms.map(Duration::from_millis);
        if let Some(valid_until) = list.valid_until {
            let left = until(now, valid_until);
            fresh = Some(fresh.map_or(left, |f| f.min(left)));
        }
        Ok((list, fresh))
    };
    let list = fetcher
        .get_validated(url, ResourceKind::StatusListCredential, load)
        .await
        .map_err(unavailable)?;
    // A cached list may have passed its validUntil since it was verified.
    if let Err(e) = list.check_validity(now) {
        return Err(StatusError::Unavailable(e.to_string()));
    }
    Ok(list)
}

/// Fetches and verifies the Token Status List for `reference`, issued by `issuer`.
async fn token_list(
    fetcher: &Fetcher,
    reference: &StatusListReference,
    issuer: &str,
    did: &Arc<DidDocument>,
    now: DateTime<Utc>,
) -> Result<Arc<VerifiedStatusListToken>, StatusError> {
    let did_for_load = Arc::clone(did);
    let issuer_for_load = issuer.to_owned();
    let reference_for_load = reference.clone();
    let load = move |fetched: &crate::fetch::Fetched| {
        let jws = body_text(&fetched.body)?;
        let token = verify_status_list_token_with_resolver(
            jws,
            &issuer_for_load,
            did_for_load.as_ref(),
            &reference_for_load,
            now,
        )
        .map_err(|e| e.to_string())?;
        if let Some(iss) = &token.claims.iss
            && *iss != issuer_for_load
        {
            return Err(format!(
                "status list token iss {iss} is not the credential issuer"
            ));
        }
        // T4: `ttl` and `exp` take precedence over HTTP caching headers.
        let mut fresh = token.claims.ttl.map(Duration::from_secs);
        if let Some(exp) = token
            .claims
            .exp
            .and_then(|e| DateTime::from_timestamp(e, 0))
        {
            let left = until(now, exp);
            fresh = Some(fresh.map_or(left, |f| f.min(left)));
        }
        Ok((token, fresh))
    };
    let token = fetcher
        .get_validated(&reference.uri, ResourceKind::StatusListToken, load)
        .await
        .map_err(unavailable)?;
    if let Err(e) = token.claims.check_time(now) {
        return Err(StatusError::Unavailable(e.to_string()));
    }
    Ok(token)
}

/// The status of one Bitstring entry: `Ok` when its bit is 0.
async fn check_bitstring_entry(
    fetcher: &Fetcher,
    entry: &BitstringStatusListEntry,
    issuer: &str,
    did: &Arc<DidDocument>,
    now: DateTime<Utc>,
) -> Result<(), StatusError> {
    let list = bitstring_list(fetcher, &entry.status_list_credential, issuer, did, now).await?;
    let result = check_entry(entry, &list).map_err(|e| match e {
        BitstringStatusError::StatusRetrieval(_) | BitstringStatusError::StatusVerification(_) => {
            StatusError::Unavailable(e.to_string())
        }
        BitstringStatusError::MalformedValue(_) => StatusError::Unavailable(e.to_string()),
        BitstringStatusError::StatusListLength { .. } | BitstringStatusError::Range { .. } => {
            StatusError::Invalid(e.to_string())
        }
    })?;
    if result.valid {
        return Ok(());
    }
    match entry.status_purpose {
        StatusPurpose::Suspension => Err(StatusError::Suspended),
        // Revocation, and any non-zero value this AS does not understand: revoked.
        _ => Err(StatusError::Revoked),
    }
}

/// Checks every status reference of the credential (issued by `issuer`, whose DID document is
/// `did`). Entries of purposes other than revocation and suspension are not status verdicts and
/// are ignored. A revocation found anywhere wins over a suspension.
///
/// Lists are checked at `now + skew`: a list signed by a domain whose clock runs ahead is
/// accepted (its `validFrom` / `nbf` may be up to `skew` in the future), and one close to its
/// `validUntil` / `exp` is refused `skew` early — tolerance only ever on the safe side.
pub async fn check_status(
    fetcher: &Fetcher,
    refs: &StatusRefs,
    issuer: &str,
    did: &Arc<DidDocument>,
    now: DateTime<Utc>,
    skew: chrono::TimeDelta,
) -> Result<(), StatusError> {
    let now = now.checked_add_signed(skew.abs()).unwrap_or(now);
    match refs {
        StatusRefs::Bitstring(entries) => {
            let relevant: Vec<&BitstringStatusListEntry> = entries
                .iter()
                .filter(|e| {
                    matches!(
                        e.status_purpose,
                        StatusPurpose::Revocation | StatusPurpose::Suspension
                    )
                })
                .collect();
            if !relevant
                .iter()
                .any(|e| e.status_purpose == StatusPurpose::Revocation)
            {
                return Err(StatusError::Invalid(
                    "no revocation entry: status cannot be checked".into(),
                ));
            }
            let mut suspended = false;
            // Revocation first, so a revoked and suspended credential reports "revoked".
            let mut ordered = relevant;
            ordered.sort_by_key(|e| e.status_purpose != StatusPurpose::Revocation);
            for entry in ordered {
                match check_bitstring_entry(fetcher, entry, issuer, did, now).await {
                    Ok(()) => {}
                    Err(StatusError::Suspended) => suspended = true,
                    Err(other) => return Err(other),
                }
            }
            if suspended {
                Err(StatusError::Suspended)
            } else {
                Ok(())
            }
        }
        StatusRefs::Token(reference) => {
            let token = token_list(fetcher, reference, issuer, did, now).await?;
            match token.status(reference.idx) {
                Ok(StatusType::Valid) => Ok(()),
                Ok(StatusType::Suspended) => Err(StatusError::Suspended),
                // INVALID, application-specific and unknown values: revoked (fail closed).
                Ok(_) => Err(StatusError::Revoked),
                Err(e) => Err(StatusError::Invalid(e.to_string())),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn status_errors_map_to_distinct_codes() {
        let all = [
            StatusError::Revoked,
            StatusError::Suspended,
            StatusError::Unavailable(String::new()),
            StatusError::Invalid(String::new()),
        ];
        let codes: std::collections::HashSet<_> =
            all.iter().map(|e| e.deny_reason().code).collect();
        assert_eq!(codes.len(), 4);
        assert_eq!(
            StatusError::Revoked.deny_reason().code,
            codes::CREDENTIAL_REVOKED
        );
    }

    #[test]
    fn until_is_zero_in_the_past() {
        let now = DateTime::from_timestamp(100, 0).unwrap();
        assert_eq!(
            until(now, DateTime::from_timestamp(50, 0).unwrap()),
            Duration::ZERO
        );
        assert_eq!(
            until(now, DateTime::from_timestamp(160, 0).unwrap()),
            Duration::from_secs(60)
        );
    }
}
