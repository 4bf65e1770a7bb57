//! Hosted Client ID Metadata Documents: `GET /agents/{id}/client-metadata.json`, served from the
//! registry's `GetClientMetadata` (DESIGN §4, CIMD C1–C5, C7, C12).
//!
//! - 200 with the document's exact bytes, `Content-Type: application/json`, a strong `ETag`,
//!   `Last-Modified` and `Cache-Control: public, max-age=<registry setting, default 300>`;
//! - `If-None-Match` matching the current `ETag` (or `*`) → 304 without a body;
//! - unknown or deleted agent, or an id that is not the canonical lower-case UUID (the client_id
//!   the registry hands out is compared as a raw string, C3) → 404;
//! - registry or issuer unreachable → 503: the registry fails closed rather than serve a
//!   document with a credential it could not check.
//!
//! Errors carry `Cache-Control: no-store` (an AS must not cache them, C7).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use crossauthz_proto::registry::GetClientMetadataRequest;

use crate::AppState;
use crate::problem::Problem;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/agents/{id}/client-metadata.json", get(client_metadata))
}

/// True for the canonical (hyphenated, lower-case) form of a UUID, the only form the registry
/// puts in client_ids.
pub fn is_canonical_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

/// RFC 9110 §13.1.2: does `If-None-Match` match `etag` (weak comparison, or `*`)?
pub fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    let ours = etag.strip_prefix("W/").unwrap_or(etag);
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == ours)
}

/// An RFC 9110 HTTP-date (IMF-fixdate).
fn http_date(t: &prost_types::Timestamp) -> Option<HeaderValue> {
    let t = chrono::DateTime::from_timestamp(t.seconds, 0)?;
    HeaderValue::from_str(&t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()).ok()
}

fn not_found() -> Response {
    no_store(Problem::new(StatusCode::NOT_FOUND, "no such agent").into_response())
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn client_metadata(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !is_canonical_uuid(&id) {
        return not_found();
    }
    let doc = match state
        .upstreams
        .registry
        .clone()
        .get_client_metadata(GetClientMetadataRequest { agent_id: id })
        .await
    {
        Ok(doc) => doc.into_inner(),
        Err(s)
            if matches!(
                s.code(),
                tonic::Code::NotFound | tonic::Code::InvalidArgument
            ) =>
        {
            return not_found();
        }
        Err(s) => return no_store(Problem::from(s).into_response()),
    };
    let Ok(etag) = HeaderValue::from_str(&doc.etag) else {
        tracing::error!("the registry sent an ETag that is not a header value");
        return no_store(
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the document is unavailable",
            )
            .into_response(),
        );
    };
    let cache_control =
        HeaderValue::from_str(&format!("public, max-age={}", doc.cache_max_age_seconds))
            .unwrap_or(HeaderValue::from_static("no-cache"));
    let mut response = if if_none_match(&headers, &doc.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = (StatusCode::OK, doc.document_json).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, etag);
    h.insert(header::CACHE_CONTROL, cache_control);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if let Some(date) = doc.last_modified.as_ref().and_then(http_date) {
        h.insert(header::LAST_MODIFIED, date);
    }
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn only_the_canonical_uuid_form_is_an_agent_id() {
        assert!(is_canonical_uuid("0f8fad5b-d9cb-469f-a165-70867728950e"));
        assert!(!is_canonical_uuid("0F8FAD5B-D9CB-469F-A165-70867728950E"));
        assert!(!is_canonical_uuid("0f8fad5bd9cb469fa16570867728950e"));
        assert!(!is_canonical_uuid("../../etc/passwd"));
        assert!(!is_canonical_uuid(""));
    }

    #[test]
    fn if_none_match_uses_weak_comparison_and_star() {
        let mut h = HeaderMap::new();
        assert!(!if_none_match(&h, "\"a\""));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"b\", W/\"a\""),
        );
        assert!(if_none_match(&h, "\"a\""));
        assert!(!if_none_match(&h, "\"c\""));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(if_none_match(&h, "\"c\""));
    }

    #[test]
    fn http_dates_are_imf_fixdate() {
        let t = prost_types::Timestamp {
            seconds: 1_800_000_000,
            nanos: 5,
        };
        assert_eq!(http_date(&t).unwrap(), "Fri, 15 Jan 2027 08:00:00 GMT");
    }

    proptest::proptest! {
        // Any path segment and any If-None-Match value: decided without panicking.
        #[test]
        fn id_and_if_none_match_parsing_never_panics(s in ".*", tag in "[ -~]*") {
            let _ = is_canonical_uuid(&s);
            if let Ok(v) = HeaderValue::from_str(&tag) {
                let mut h = HeaderMap::new();
                h.insert(header::IF_NONE_MATCH, v);
                let _ = if_none_match(&h, "\"x\"");
            }
        }
    }
}
