//! The issuer boundary for publication: the one call to `Issuer/SignStatusList`, which signs a
//! rendered list with the domain's active key (the keys never leave the issuer), and the mapping
//! of its failures to [`StatusListError`].

use chrono::{DateTime, Duration, Utc};
use crossauthz_proto::common::ListFormat;
use crossauthz_proto::issuer::SignStatusListRequest;
use serde_json::Value;

use crate::model::{PublishedFormat, PublishedList};
use crate::publish::etag_of;
use crate::{StatusListError, StatusListService};

impl StatusListService {
    /// Has the issuer sign `payload` (valid for the configured lifetime).
    pub(crate) async fn sign_list(
        &self,
        payload: Value,
        format: PublishedFormat,
        version: i64,
        now: DateTime<Utc>,
    ) -> Result<PublishedList, StatusListError> {
        let wire_format = match format {
            PublishedFormat::TokenStatusList => ListFormat::TokenStatusList,
            PublishedFormat::Bitstring(_) => ListFormat::BitstringStatusList,
        };
        let request = SignStatusListRequest {
            format: wire_format as i32,
            payload_json: payload.to_string(),
            lifetime_seconds: self.inner.config.lifetime_seconds,
        };
        let signed = self
            .inner
            .issuer
            .clone()
            .sign_status_list(request)
            .await
            .map_err(|status| {
                tracing::warn!(code = ?status.code(), message = status.message(), "issuer did not sign the status list");
                match status.code() {
                    tonic::Code::Unavailable
                    | tonic::Code::DeadlineExceeded
                    | tonic::Code::Cancelled
                    | tonic::Code::ResourceExhausted => {
                        StatusListError::SignerUnavailable(status.code().to_string())
                    }
                    code => StatusListError::SignerFailed(code.to_string()),
                }
            })?
            .into_inner();
        if signed.jws.is_empty() {
            return Err(StatusListError::SignerFailed("empty JWS".into()));
        }
        let lifetime = i64::try_from(self.inner.config.lifetime_seconds)
            .ok()
            .and_then(Duration::try_seconds)
            .unwrap_or(Duration::zero());
        let expires_at = signed
            .expires_at
            .and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
            .unwrap_or(now + lifetime);
        Ok(PublishedList {
            media_type: format.media_type(),
            etag: etag_of(&signed.jws),
            body: signed.jws,
            ttl_seconds: self.inner.config.ttl_seconds,
            expires_at,
            version,
            signed_at: now,
        })
    }
}
