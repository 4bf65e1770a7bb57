//! Status list publication (DESIGN §4), served from the status-list service's
//! `GetPublishedList`:
//!
//! - `GET /status/{list}`: the IETF Token Status List (`application/statuslist+jwt`, T4) or the
//!   W3C Bitstring Status List credential of purpose `revocation` (`application/vc+jwt`), chosen
//!   by `Accept` (q-values honoured; no `Accept` or `*/*` gives the Token Status List; nothing
//!   acceptable is 406);
//! - `GET /status/{list}/suspension`: the Bitstring Status List credential of purpose
//!   `suspension` (`application/vc+jwt`).
//!
//! Responses carry `Cache-Control: public, max-age=<ttl>` (the list's own `ttl`, so HTTP
//! caching agrees with it), a strong `ETag` (`If-None-Match` → 304), `Vary: Accept,
//! Accept-Encoding`, gzip `Content-Encoding` when the client accepts it (T4 SHOULD; the gzip
//! representation has its own strong validator), and CORS `Access-Control-Allow-Origin: *`
//! (T4). An unknown or malformed list id is 404, `?time=` is 501 (T5 §8.4: historical lists
//! are not kept), and an unreachable status-list service is 503 — all RFC 9457 problems.

use std::io::Write;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use crossauthz_proto::common::ListFormat;
use crossauthz_proto::status_list::{GetPublishedListRequest, PublishedList};
use flate2::Compression;
use flate2::write::GzEncoder;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::AppState;
use crate::problem::Problem;

/// Media type of a Token Status List (draft -20 §5.1).
pub const STATUSLIST_JWT: &str = "application/statuslist+jwt";
/// Media type of a VC secured with JOSE (VC-JOSE-COSE).
pub const VC_JWT: &str = "application/vc+jwt";
/// `Vary` of every status response.
pub const VARY: &str = "accept, accept-encoding";

/// One document a URL can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    /// Its media type.
    pub media_type: &'static str,
    /// The wire format asked of the status-list service.
    pub format: ListFormat,
    /// The bitstring purpose (`""` for a Token Status List).
    pub purpose: &'static str,
}

/// What `/status/{list}` offers, in the server's order of preference.
pub const LIST_OFFERS: [Offer; 2] = [
    Offer {
        media_type: STATUSLIST_JWT,
        format: ListFormat::TokenStatusList,
        purpose: "",
    },
    Offer {
        media_type: VC_JWT,
        format: ListFormat::BitstringStatusList,
        purpose: "revocation",
    },
];

/// What `/status/{list}/suspension` offers.
pub const SUSPENSION_OFFERS: [Offer; 1] = [Offer {
    media_type: VC_JWT,
    format: ListFormat::BitstringStatusList,
    purpose: "suspension",
}];

/// The routes of this module, with CORS for any origin (public documents).
pub fn routes() -> Router<AppState> {
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::GET, Method::HEAD])
        .allow_headers([header::ACCEPT, header::IF_NONE_MATCH])
        .expose_headers([header::ETAG]);
    Router::new()
        .route("/status/{list}", get(list_document))
        .route("/status/{list}/suspension", get(suspension_document))
        .layer(cors)
}

async fn list_document(
    State(state): State<AppState>,
    Path(list): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    serve(state, &list, query.as_deref(), &headers, &LIST_OFFERS).await
}

async fn suspension_document(
    State(state): State<AppState>,
    Path(list): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    serve(state, &list, query.as_deref(), &headers, &SUSPENSION_OFFERS).await
}

async fn serve(
    state: AppState,
    list: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    offers: &[Offer],
) -> Response {
    if asks_for_time(query) {
        return Problem::new(
            StatusCode::NOT_IMPLEMENTED,
            "historical status lists (?time=) are not supported",
        )
        .into_response();
    }
    if !is_list_id(list) {
        return Problem::new(StatusCode::NOT_FOUND, "no such status list").into_response();
    }
    let accept = header_text(headers, header::ACCEPT);
    let Some(offer) = negotiate(accept.as_deref(), offers) else {
        let types: Vec<&str> = offers.iter().map(|o| o.media_type).collect();
        return Problem::new(
            StatusCode::NOT_ACCEPTABLE,
            format!("this resource is available as {}", types.join(", ")),
        )
        .into_response();
    };
    let request = GetPublishedListRequest {
        list_id: list.to_owned(),
        format: offer.format as i32,
        purpose: offer.purpose.to_owned(),
    };
    let published = match state
        .upstreams
        .status_list
        .clone()
        .get_published_list(request)
        .await
    {
        Ok(p) => p.into_inner(),
        Err(status) => return Problem::from(status).into_response(),
    };
    let gzip = accepts_gzip(header_text(headers, header::ACCEPT_ENCODING).as_deref());
    respond(
        published,
        offer,
        gzip,
        header_text(headers, header::IF_NONE_MATCH).as_deref(),
    )
}

/// The 200 (or 304) response for a published list.
fn respond(
    published: PublishedList,
    offer: Offer,
    gzip: bool,
    if_none_match: Option<&str>,
) -> Response {
    let (body, etag) = if gzip {
        match gzip_bytes(published.body.as_bytes()) {
            Ok(b) => (b, gzip_etag(&published.etag)),
            Err(e) => {
                tracing::error!(error = %e, "gzip failed");
                return Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "could not encode")
                    .into_response();
            }
        }
    } else {
        (published.body.into_bytes(), published.etag)
    };
    let mut h = HeaderMap::new();
    let cache_control = format!("public, max-age={}", published.ttl_seconds);
    insert(&mut h, header::CACHE_CONTROL, &cache_control);
    insert(&mut h, header::ETAG, &etag);
    insert(&mut h, header::VARY, VARY);
    if if_none_match.is_some_and(|inm| etag_matches(inm, &etag)) {
        return (StatusCode::NOT_MODIFIED, h).into_response();
    }
    insert(&mut h, header::CONTENT_TYPE, offer.media_type);
    if gzip {
        insert(&mut h, header::CONTENT_ENCODING, "gzip");
    }
    (StatusCode::OK, h, body).into_response()
}

fn insert(h: &mut HeaderMap, name: HeaderName, value: &str) {
    match HeaderValue::from_str(value) {
        Ok(v) => {
            h.insert(name, v);
        }
        Err(_) => tracing::error!(header = %name, "upstream value is not a valid header"),
    }
}

fn header_text(headers: &HeaderMap, name: HeaderName) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// True when the query string carries a `time` parameter (T5 §8.4).
pub fn asks_for_time(query: Option<&str>) -> bool {
    query.is_some_and(|q| url::form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "time"))
}

/// True for a list id in the canonical form the status-list service publishes (a lower-case
/// hyphenated UUID), so one list has one URL and its `sub` / `id` match the URL fetched.
pub fn is_list_id(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
        })
}

/// One media range of an `Accept` header.
#[derive(Debug, Clone, PartialEq)]
struct MediaRange {
    kind: String,
    subtype: String,
    q: f32,
}

/// Parses an `Accept` header (RFC 9110 §12.5.1): media ranges with an optional `q` weight;
/// malformed ranges are skipped, a malformed `q` counts as 0.
fn media_ranges(accept: &str) -> Vec<MediaRange> {
    accept
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';');
            let media = parts.next()?.trim().to_ascii_lowercase();
            let (kind, subtype) = media.split_once('/')?;
            let (kind, subtype) = (kind.trim(), subtype.trim());
            if kind.is_empty() || subtype.is_empty() || (kind == "*" && subtype != "*") {
                return None;
            }
            let mut q = 1.0;
            for p in parts {
                if let Some((name, value)) = p.split_once('=')
                    && name.trim().eq_ignore_ascii_case("q")
                {
                    q = value
                        .trim()
                        .parse::<f32>()
                        .ok()
                        .filter(|q| (0.0..=1.0).contains(q))
                        .unwrap_or(0.0);
                }
            }
            Some(MediaRange {
                kind: kind.to_owned(),
                subtype: subtype.to_owned(),
                q,
            })
        })
        .collect()
}

/// The weight the client gives `media_type`: that of the most specific matching range
/// (exact, then `type/*`, then `*/*`), 0 when none matches.
fn weight(ranges: &[MediaRange], media_type: &str) -> f32 {
    let Some((kind, subtype)) = media_type.split_once('/') else {
        return 0.0;
    };
    let specificity = |r: &MediaRange| match (r.kind.as_str(), r.subtype.as_str()) {
        (k, s) if k == kind && s == subtype => Some(3),
        (k, "*") if k == kind => Some(2),
        ("*", "*") => Some(1),
        _ => None,
    };
    ranges
        .iter()
        .filter_map(|r| specificity(r).map(|s| (s, r.q)))
        .max_by_key(|(s, _)| *s)
        .map_or(0.0, |(_, q)| q)
}

/// Picks the offer the client prefers (highest weight; ties go to the server's order). No or
/// an empty `Accept` takes the first offer; `None` when nothing offered is acceptable.
pub fn negotiate(accept: Option<&str>, offers: &[Offer]) -> Option<Offer> {
    let accept = accept.map(str::trim).filter(|a| !a.is_empty());
    let Some(accept) = accept else {
        return offers.first().copied();
    };
    let ranges = media_ranges(accept);
    let mut best: Option<(f32, Offer)> = None;
    for offer in offers {
        let w = weight(&ranges, offer.media_type);
        if w > 0.0 && best.is_none_or(|(b, _)| w > b) {
            best = Some((w, *offer));
        }
    }
    best.map(|(_, o)| o)
}

/// True when `Accept-Encoding` accepts gzip (explicitly or through `*`) with a non-zero weight.
pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    let Some(ae) = accept_encoding else {
        return false;
    };
    let mut gzip = None;
    let mut any = None;
    for coding in ae.split(',') {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let mut q = 1.0f32;
        for p in parts {
            if let Some((k, v)) = p.split_once('=')
                && k.trim().eq_ignore_ascii_case("q")
            {
                q = v
                    .trim()
                    .parse()
                    .ok()
                    .filter(|q| (0.0..=1.0).contains(q))
                    .unwrap_or(0.0);
            }
        }
        match name.as_str() {
            "gzip" | "x-gzip" => gzip = Some(q),
            "*" => any = Some(q),
            _ => {}
        }
    }
    gzip.or(any).is_some_and(|q| q > 0.0)
}

/// The strong validator of the gzip representation: a different entity tag than the identity
/// one (RFC 9110 §8.8.3: representations differing in content coding need different tags).
pub fn gzip_etag(etag: &str) -> String {
    match etag.strip_suffix('"') {
        Some(open) => format!("{open}-gzip\""),
        None => format!("{etag}-gzip"),
    }
}

fn gzip_bytes(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::with_capacity(body.len() / 2), Compression::default());
    enc.write_all(body)?;
    enc.finish()
}

/// `If-None-Match` evaluation (RFC 9110 §13.1.2): `*` matches; otherwise any listed tag that
/// matches by weak comparison (the `W/` prefix ignored).
pub fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let strip = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let ours = strip(etag);
    if_none_match
        .split(',')
        .map(strip)
        .any(|t| t == "*" || t == ours)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    // T4 §8.1: `Accept: application/statuslist+jwt` gives the Token Status List;
    // `application/vc+jwt` the Bitstring Status List credential; default the TSL.
    #[test]
    fn t4_negotiation_picks_by_accept_and_defaults_to_the_token_status_list() {
        let pick = |a: Option<&str>| negotiate(a, &LIST_OFFERS).map(|o| o.media_type);
        assert_eq!(pick(None), Some(STATUSLIST_JWT));
        assert_eq!(pick(Some("")), Some(STATUSLIST_JWT));
        assert_eq!(pick(Some("*/*")), Some(STATUSLIST_JWT));
        assert_eq!(pick(Some("application/*")), Some(STATUSLIST_JWT));
        assert_eq!(
            pick(Some("application/statuslist+jwt")),
            Some(STATUSLIST_JWT)
        );
        assert_eq!(pick(Some("application/vc+jwt")), Some(VC_JWT));
        assert_eq!(pick(Some("Application/VC+JWT")), Some(VC_JWT));
        assert_eq!(
            pick(Some("application/statuslist+jwt;q=0.5, application/vc+jwt")),
            Some(VC_JWT)
        );
        assert_eq!(
            pick(Some("application/vc+jwt;q=0.2, */*;q=0.9")),
            Some(STATUSLIST_JWT)
        );
        assert_eq!(
            pick(Some("*/*, application/statuslist+jwt;q=0")),
            Some(VC_JWT)
        );
        assert_eq!(pick(Some("text/html")), None);
        assert_eq!(pick(Some("application/json, text/*")), None);
        assert_eq!(pick(Some("application/vc+jwt;q=0")), None);
        assert_eq!(pick(Some("application/vc+jwt;q=nope")), None);
        let sus = |a: Option<&str>| negotiate(a, &SUSPENSION_OFFERS).map(|o| o.purpose);
        assert_eq!(sus(None), Some("suspension"));
        assert_eq!(sus(Some("application/statuslist+jwt")), None);
    }

    #[test]
    fn list_ids_must_be_canonical_uuids() {
        assert!(is_list_id("0b9e4a7c-3c1d-4a8e-9f53-1d2e3f4a5b6c"));
        for bad in [
            "0B9E4A7C-3C1D-4A8E-9F53-1D2E3F4A5B6C",
            "0b9e4a7c3c1d4a8e9f531d2e3f4a5b6c",
            "{0b9e4a7c-3c1d-4a8e-9f53-1d2e3f4a5b6c}",
            "..",
            "",
            "0b9e4a7c-3c1d-4a8e-9f53-1d2e3f4a5b6g",
        ] {
            assert!(!is_list_id(bad), "{bad}");
        }
    }

    // T5 §8.4: a `time` parameter asks for a historical list.
    #[test]
    fn t5_time_parameter_is_detected() {
        assert!(asks_for_time(Some("time=1700000000")));
        assert!(asks_for_time(Some("a=1&time=")));
        assert!(!asks_for_time(Some("times=1")));
        assert!(!asks_for_time(None));
    }

    // RFC 9110 §13.1.2: If-None-Match uses weak comparison and `*`.
    #[test]
    fn if_none_match_uses_weak_comparison() {
        let etag = "\"abc\"";
        assert!(etag_matches("\"abc\"", etag));
        assert!(etag_matches("W/\"abc\"", etag));
        assert!(etag_matches("\"x\", \"abc\"", etag));
        assert!(etag_matches("*", etag));
        assert!(!etag_matches("\"abcd\"", etag));
        assert!(!etag_matches("abc", etag));
        assert_eq!(gzip_etag(etag), "\"abc-gzip\"");
    }

    // T4: gzip Content-Encoding SHOULD be used when the client accepts it.
    #[test]
    fn t4_gzip_is_used_only_when_accepted() {
        assert!(accepts_gzip(Some("gzip")));
        assert!(accepts_gzip(Some("br, gzip;q=0.5")));
        assert!(accepts_gzip(Some("*")));
        assert!(!accepts_gzip(Some("gzip;q=0")));
        assert!(!accepts_gzip(Some("*, gzip;q=0")));
        assert!(!accepts_gzip(Some("br")));
        assert!(!accepts_gzip(None));
    }

    proptest::proptest! {
        // Any Accept / Accept-Encoding / If-None-Match / query / path segment from the network
        // is handled without panicking.
        #[test]
        fn header_parsers_never_panic(s in ".*") {
            let _ = negotiate(Some(&s), &LIST_OFFERS);
            let _ = accepts_gzip(Some(&s));
            let _ = etag_matches(&s, "\"abc\"");
            let _ = asks_for_time(Some(&s));
            let _ = is_list_id(&s);
        }
    }
}
