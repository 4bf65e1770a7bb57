//! The authorization endpoint (RFC 6749 §4.1.1, OAuth 2.1) for MCP clients acting for a user.
//!
//! `GET /authorize`, in this order:
//! 1. `client_id` and `redirect_uri` (each exactly once) are resolved through
//!    `Verifier/ResolveClient`: the CIMD document is fetched and validated, the redirect URI must
//!    be exactly one of its `redirect_uris` (C8), any credential it carries is verified with its
//!    status. Until this succeeds every error is an **error page — never a redirect** (RFC 6749
//!    §4.1.2.1, RFC 9700 §4.11: no open redirector).
//! 2. Then errors go back to the client's redirect URI with `error`, `error_description`,
//!    `state` and `iss` (RFC 9207): `response_type` must be `code`; PKCE `code_challenge_method`
//!    must be `S256` (`plain` and a missing method are refused) with a well-formed
//!    `code_challenge` (A4, M4); `resource` is required, absolute, without fragment, and one of
//!    this domain's resources (A3, M5: `invalid_target`); `scope` defaults to the resource's
//!    scopes and may name only those (`invalid_scope`).
//! 3. The user logs in ([`super::login`]); the request is kept in the store under a secret
//!    handle bound to a `SameSite=Strict` cookie, and a consent page shows the client_id's host
//!    (C13), the redirect host and a warning when every redirect is on localhost (M7), the
//!    verified claims (issuer domain, agent type, compliance) or a warning that there are none.
//!
//! The client's logo (C13) is shown from this origin, never hot-linked: the verifier prefetched
//! it while resolving the client (PNG, JPEG, GIF or WebP only, checked by signature), and
//! `GET /authorize/logo?client_id=…&id=…` serves it from the verifier's cache
//! (`Verifier/GetClientLogo`, which never fetches) with `nosniff` and a sandboxing CSP.
//!
//! `POST /authorize` (the consent form): the handle and its cookie must match a pending request
//! of the same user; approve → a single-use code (60 s) bound to client, redirect URI, PKCE
//! challenge, resource and scopes, delivered with `state` and `iss`; deny → `access_denied`.
//! Every outcome is an audit event (`authorization.refused|consented|denied`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::Duration;
use crossauthz_proto::verifier::{
    GetClientLogoRequest, GetResourcesRequest, ResolveClientRequest, ResolvedClient,
};
use crossauthz_store::{NewAuthorizationCode, PendingAuthorization};
use html_escape::encode_text as esc;
use serde_json::{Value, json};

use super::OAuthState;
use super::authorization_code::valid_challenge;
use super::errors::{ErrorCode, OAuthError};
use super::grant::random_secret;
use super::login::{LoginOutcome, LoginRequest};
use super::params::{Params, canonical_resource};

/// The cookie binding a consent page to the browser that asked for it.
pub const CONSENT_COOKIE: &str = "crossauthz_consent";

/// The path the consent page loads the client's logo from.
pub const LOGO_PATH: &str = "/authorize/logo";

/// The image types a logo is served as (the verifier accepts no other; checked again here).
const LOGO_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// The authorization routes.
pub fn routes() -> Router<OAuthState> {
    Router::new()
        .route("/authorize", get(authorize).post(consent))
        .route(LOGO_PATH, get(logo))
}

fn secure_headers(response: &mut Response, form_action: Option<&str>) {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'{}; frame-ancestors 'none'; base-uri 'none'",
        form_action.map(|o| format!(" {o}")).unwrap_or_default()
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:38rem;margin:2rem auto;padding:0 1rem}\
.warn{background:#fff4e5;border-left:4px solid #e67e22;padding:.5rem 1rem}\
.host{font-weight:bold;font-family:monospace}button{margin-right:1rem;padding:.5rem 1.5rem}";

/// An HTML error page. Nothing in it is a link to the client.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head>\
         <body><h1>{t}</h1><p>{m}</p><p>You can close this window.</p></body></html>",
        t = esc(title),
        m = esc(message)
    );
    let mut r = (status, Html(body)).into_response();
    secure_headers(&mut r, None);
    r
}

/// `redirect_uri` with `pairs` appended to its query (existing query kept, RFC 6749 §3.1.2).
pub fn redirect_to(redirect_uri: &str, pairs: &[(&str, &str)], status: StatusCode) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Invalid redirect",
            "The redirect URI cannot be used.",
        );
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    let mut r = status.into_response();
    match HeaderValue::from_str(url.as_str()) {
        Ok(v) => {
            r.headers_mut().insert(header::LOCATION, v);
        }
        Err(_) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Invalid redirect",
                "The redirect URI cannot be used.",
            );
        }
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// An error delivered to the client's (verified) redirect URI.
fn redirect_error(
    issuer: &str,
    redirect_uri: &str,
    state: Option<&str>,
    error: &OAuthError,
    status: StatusCode,
) -> Response {
    let mut pairs = vec![
        ("error", error.code.as_str()),
        ("error_description", error.description.as_str()),
    ];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", issuer));
    redirect_to(redirect_uri, &pairs, status)
}

/// The value of the consent cookie.
fn consent_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| cookie::Cookie::split_parse(v.to_owned()))
        .filter_map(Result::ok)
        .find(|c| c.name() == CONSENT_COOKIE)
        .map(|c| c.value().to_owned())
}

fn origin(uri: &str) -> Option<String> {
    let u = url::Url::parse(uri).ok()?;
    let o = u.origin();
    o.is_tuple().then(|| o.ascii_serialization())
}

fn host_of(uri: &str) -> String {
    url::Url::parse(uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

/// What the validated authorization request asks for.
struct Request {
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    code_challenge: String,
    resource: String,
    scopes: Vec<String>,
}

/// Step 2: everything after the client and redirect URI are known to be good.
async fn validate(
    state: &OAuthState,
    params: &Params,
    client_id: &str,
    redirect_uri: &str,
    client_state: Option<&str>,
) -> Result<Request, OAuthError> {
    match params.get("response_type")? {
        Some("code") => {}
        None => {
            return Err(OAuthError::invalid_request("response_type is required"));
        }
        Some(other) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                format!("response_type {other:?} is not supported; use code"),
            ));
        }
    }
    match params.get("code_challenge_method")? {
        Some("S256") => {}
        Some("plain") => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method plain is refused; use S256 (A4)",
            )
            .with_reason("pkce_plain_refused"));
        }
        _ => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method=S256 is required (PKCE, A4)",
            )
            .with_reason("pkce_method_missing"));
        }
    }
    let challenge = params.get("code_challenge")?.ok_or_else(|| {
        OAuthError::invalid_request("code_challenge is required (PKCE, RFC 7636 §4.4.1)")
            .with_reason("pkce_challenge_missing")
    })?;
    if !valid_challenge(challenge) {
        return Err(OAuthError::invalid_request(
            "code_challenge must be the 43-character base64url S256 value (RFC 7636 §4.2)",
        )
        .with_reason("pkce_challenge_malformed"));
    }
    let resource = params.resource()?;
    let known = state
        .inner
        .verifier
        .clone()
        .get_resources(GetResourcesRequest {})
        .await
        .map_err(|s| OAuthError::upstream("verifier", &s))?
        .into_inner();
    let Some(entry) = known.resources.iter().find(|r| {
        canonical_resource(&r.resource)
            .map(|c| c == resource)
            .unwrap_or(false)
    }) else {
        return Err(OAuthError::invalid_target(
            "the resource is not one this authorization server issues tokens for (RFC 8707 §2)",
        ));
    };
    let scopes = match params.scopes()? {
        None => entry.scopes.clone(),
        Some(s) => {
            if let Some(extra) = s.iter().find(|x| !entry.scopes.contains(x)) {
                return Err(OAuthError::invalid_scope(format!(
                    "scope {extra:?} is not offered by the resource"
                )));
            }
            s
        }
    };
    if scopes.is_empty() {
        return Err(OAuthError::invalid_scope("the resource offers no scope"));
    }
    Ok(Request {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        state: client_state.map(str::to_owned),
        code_challenge: challenge.to_owned(),
        resource,
        scopes,
    })
}

fn audit_refusal(
    state: &OAuthState,
    kind: &str,
    client_id: Option<&str>,
    reason: &str,
    details: Value,
) -> crossauthz_store::NewAuditEvent {
    let mut e = state.event(kind);
    e.client_id = client_id.map(|c| c.chars().take(2048).collect());
    e.actor = e.client_id.clone();
    e.decision = Some("deny".to_owned());
    e.reason = Some(reason.to_owned());
    e.details = details;
    e
}

async fn authorize(State(state): State<OAuthState>, headers: HeaderMap, uri: Uri) -> Response {
    let params = match Params::parse(uri.query().unwrap_or_default().as_bytes()) {
        Ok(p) => p,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, "Invalid request", &e.description),
    };
    let (client_id, redirect_uri) = match (params.get("client_id"), params.get("redirect_uri")) {
        (Ok(Some(c)), Ok(Some(r))) => (c.to_owned(), r.to_owned()),
        (Err(e), _) | (_, Err(e)) => {
            return error_page(StatusCode::BAD_REQUEST, "Invalid request", &e.description);
        }
        _ => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Invalid request",
                "client_id and redirect_uri are required.",
            );
        }
    };
    let resolved = match state
        .inner
        .verifier
        .clone()
        .resolve_client(ResolveClientRequest {
            client_id: client_id.clone(),
            redirect_uri: redirect_uri.clone(),
        })
        .await
    {
        Ok(r) => r.into_inner(),
        Err(s) => {
            let e = OAuthError::upstream("verifier", &s);
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                &e.description,
            );
        }
    };
    if !resolved.ok {
        let deny = resolved.deny.clone().unwrap_or_default();
        let e = audit_refusal(
            &state,
            "authorization.refused",
            Some(&client_id),
            &deny.code,
            json!({"redirect_uri": redirect_uri.chars().take(2048).collect::<String>(), "error_description": deny.description}),
        );
        state.audit(e).await;
        return error_page(
            StatusCode::BAD_REQUEST,
            "This application cannot be authorized",
            &deny.description,
        );
    }
    let issuer = state.issuer().to_owned();
    let client_state = match params.get("state") {
        Ok(s) => s.map(str::to_owned),
        Err(e) => {
            return redirect_error(&issuer, &redirect_uri, None, &e, StatusCode::FOUND);
        }
    };
    let request = match validate(
        &state,
        &params,
        &client_id,
        &redirect_uri,
        client_state.as_deref(),
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            let ev = audit_refusal(
                &state,
                "authorization.refused",
                Some(&client_id),
                &e.reason,
                json!({"error": e.code.as_str(), "error_description": e.description}),
            );
            state.audit(ev).await;
            return redirect_error(
                &issuer,
                &redirect_uri,
                client_state.as_deref(),
                &e,
                StatusCode::FOUND,
            );
        }
    };
    let return_to = format!("{issuer}{uri}");
    let user = match state
        .inner
        .users
        .authenticate(&LoginRequest {
            headers: &headers,
            return_to: &return_to,
        })
        .await
    {
        LoginOutcome::Authenticated(u) => u,
        LoginOutcome::Respond(r) => return r,
    };
    let now = state.now();
    let lifetime = state.inner.config.consent_lifetime_seconds;
    let handle = random_secret();
    let binding = random_secret();
    let pending = PendingAuthorization {
        client_id: request.client_id,
        redirect_uri: request.redirect_uri,
        state: request.state,
        code_challenge: request.code_challenge,
        resource: request.resource,
        scopes: request.scopes,
        subject: user.subject.clone(),
        created_at: now,
        expires_at: now + Duration::seconds(i64::try_from(lifetime).unwrap_or(600)),
    };
    if let Err(e) = state
        .inner
        .store
        .put_pending_authorization(&format!("{handle}.{binding}"), &pending)
        .await
    {
        let e = OAuthError::store(&e);
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Temporarily unavailable",
            &e.description,
        );
    }
    let page = consent_page(
        &pending,
        &resolved,
        user.name.as_deref().unwrap_or(&user.subject),
        &handle,
    );
    let mut r = (StatusCode::OK, Html(page)).into_response();
    secure_headers(&mut r, origin(&pending.redirect_uri).as_deref());
    let cookie = format!(
        "{CONSENT_COOKIE}={binding}; Path=/authorize; Max-Age={lifetime}; HttpOnly; Secure; SameSite=Strict"
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// The compliance standards of the verified claims, with their `validUntil`.
fn compliance(claims: &Value) -> Vec<String> {
    claims
        .get("complianceAttestations")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| {
                    let standard = c.get("standard")?.as_str()?;
                    Some(match c.get("validUntil").and_then(Value::as_str) {
                        Some(until) => format!("{standard} (valid until {until})"),
                        None => standard.to_owned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The consent page: client host (C13), redirect host and localhost warning (M7), verified
/// claims, resource and scopes. Every value is HTML-escaped.
pub fn consent_page(
    pending: &PendingAuthorization,
    client: &ResolvedClient,
    user: &str,
    handle: &str,
) -> String {
    let name = if client.client_name.is_empty() {
        client.client_host.as_str()
    } else {
        client.client_name.as_str()
    };
    let logo = if client.logo_id.is_empty() {
        String::new()
    } else {
        let src = format!(
            "{LOGO_PATH}?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("client_id", &pending.client_id)
                .append_pair("id", &client.logo_id)
                .finish()
        );
        format!(
            "<img id=\"client-logo\" src=\"{}\" alt=\"\" width=\"64\" height=\"64\">",
            html_escape::encode_double_quoted_attribute(&src)
        )
    };
    let mut out = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Authorize {n}</title><style>{STYLE}</style></head><body>\
         {logo}<h1>Authorize {n}?</h1>\
         <p>The application <strong>{n}</strong> from <span class=\"host\" id=\"client-host\">{h}</span> asks to act for you, \
         <strong>{u}</strong>, on <span class=\"host\" id=\"resource\">{res}</span>.</p>\
         <p>After your decision you will be sent to <span class=\"host\" id=\"redirect-host\">{rh}</span>.</p>",
        n = esc(name),
        h = esc(&client.client_host),
        u = esc(user),
        res = esc(&pending.resource),
        rh = esc(&host_of(&pending.redirect_uri)),
    );
    if client.localhost_redirects_only {
        out.push_str(
            "<p class=\"warn\" id=\"localhost-warning\">Warning: this application only redirects to \
             <strong>localhost</strong>, a program on your own computer. Its identity cannot be checked \
             by its redirect address; approve only if you started it yourself.</p>",
        );
    }
    match &client.credential {
        Some(c) => {
            let claims: Value = serde_json::from_str(&c.claims_json).unwrap_or(Value::Null);
            out.push_str(&format!(
                "<h2>Verified credential</h2><ul id=\"credential\"><li>Vouched for by <span class=\"host\" id=\"issuer-domain\">{d}</span> ({i})</li>",
                d = esc(&c.issuer_domain),
                i = esc(&c.issuer)
            ));
            if let Some(t) = claims.get("agentType").and_then(Value::as_str) {
                out.push_str(&format!("<li>Agent type: {}</li>", esc(t)));
            }
            let standards = compliance(&claims);
            if standards.is_empty() {
                out.push_str("<li>No compliance attestation</li>");
            } else {
                out.push_str("<li>Compliance: <span id=\"compliance\">");
                out.push_str(&esc(&standards.join(", ")));
                out.push_str("</span></li>");
            }
            out.push_str("</ul>");
        }
        None => out.push_str(
            "<p class=\"warn\" id=\"no-credential\">This application presents no verified credential: \
             nobody vouches for it beyond its own metadata document.</p>",
        ),
    }
    out.push_str("<h2>It asks for</h2><ul id=\"scopes\">");
    for s in &pending.scopes {
        out.push_str(&format!("<li>{}</li>", esc(s)));
    }
    out.push_str(&format!(
        "</ul><form method=\"post\" action=\"/authorize\">\
         <input type=\"hidden\" name=\"request\" value=\"{h}\">\
         <button type=\"submit\" name=\"decision\" value=\"approve\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form></body></html>",
        h = html_escape::encode_double_quoted_attribute(handle)
    ));
    out
}

/// `GET /authorize/logo?client_id=…&id=…`: the client's prefetched logo, from the verifier's
/// cache only (C13). 404 when it is not cached (the page then shows no logo).
async fn logo(State(state): State<OAuthState>, uri: Uri) -> Response {
    let not_found = || StatusCode::NOT_FOUND.into_response();
    let Ok(params) = Params::parse(uri.query().unwrap_or_default().as_bytes()) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let (Ok(Some(client_id)), Ok(Some(id))) = (params.get("client_id"), params.get("id")) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let well_formed = id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !well_formed || client_id.len() > super::grant::MAX_CLIENT_ID_LEN {
        return not_found();
    }
    let answer = state
        .inner
        .verifier
        .clone()
        .get_client_logo(GetClientLogoRequest {
            client_id: client_id.to_owned(),
            logo_id: id.to_owned(),
        })
        .await;
    let logo = match answer {
        Ok(l) => l.into_inner(),
        Err(s) if s.code() == tonic::Code::NotFound => return not_found(),
        Err(s) => {
            tracing::warn!(status = %s, "logo: verifier unavailable");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    if !LOGO_TYPES.contains(&logo.content_type.as_str()) {
        return not_found();
    }
    let mut r = logo.data.into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&logo.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    r
}

async fn consent(State(state): State<OAuthState>, headers: HeaderMap, body: Bytes) -> Response {
    let bad = |m: &str| error_page(StatusCode::BAD_REQUEST, "Invalid consent", m);
    if body.len() > state.inner.config.max_body_bytes {
        return bad("The request is too large.");
    }
    let params = match Params::form(&headers, &body) {
        Ok(p) => p,
        Err(e) => return bad(&e.description),
    };
    let (handle, decision) = match (params.get("request"), params.get("decision")) {
        (Ok(Some(h)), Ok(Some(d))) if d == "approve" || d == "deny" => (h, d == "approve"),
        _ => return bad("The consent form is incomplete."),
    };
    let Some(binding) = consent_cookie(&headers) else {
        return bad("The consent session is missing: cookies must be enabled.");
    };
    let now = state.now();
    let pending = match state
        .inner
        .store
        .take_pending_authorization(&format!("{handle}.{binding}"), now)
        .await
    {
        Ok(Some(p)) => p,
        Ok(None) => return bad("This consent request is unknown or has expired. Start again."),
        Err(e) => {
            let e = OAuthError::store(&e);
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                &e.description,
            );
        }
    };
    let return_to = state.endpoint("/authorize");
    let user = match state
        .inner
        .users
        .authenticate(&LoginRequest {
            headers: &headers,
            return_to: &return_to,
        })
        .await
    {
        LoginOutcome::Authenticated(u) => u,
        LoginOutcome::Respond(r) => return r,
    };
    if user.subject != pending.subject {
        return error_page(
            StatusCode::FORBIDDEN,
            "Invalid consent",
            "This consent request belongs to another user.",
        );
    }
    let issuer = state.issuer().to_owned();
    let mut e = state.event(if decision {
        "authorization.consented"
    } else {
        "authorization.denied"
    });
    e.actor = Some(user.subject.clone());
    e.client_id = Some(pending.client_id.clone());
    e.scopes = Some(pending.scopes.clone());
    e.resource = Some(pending.resource.clone());
    e.decision = Some(if decision { "allow" } else { "deny" }.to_owned());
    e.reason = Some(
        if decision {
            "user_consented"
        } else {
            "user_denied"
        }
        .to_owned(),
    );
    e.details = json!({"redirect_uri": pending.redirect_uri, "sub": user.subject});
    let mut response = if decision {
        let code = random_secret();
        let lifetime = state.inner.config.code_lifetime_seconds;
        let stored = state
            .inner
            .store
            .put_authorization_code(
                &code,
                &NewAuthorizationCode {
                    client_id: pending.client_id.clone(),
                    redirect_uri: pending.redirect_uri.clone(),
                    resource: pending.resource.clone(),
                    scopes: pending.scopes.clone(),
                    code_challenge: pending.code_challenge.clone(),
                    subject: user.subject.clone(),
                    created_at: now,
                    expires_at: now + Duration::seconds(i64::try_from(lifetime).unwrap_or(60)),
                },
            )
            .await;
        if let Err(err) = stored {
            let err = OAuthError::store(&err);
            return redirect_error(
                &issuer,
                &pending.redirect_uri,
                pending.state.as_deref(),
                &err,
                StatusCode::SEE_OTHER,
            );
        }
        if !state.audit(e).await {
            let err = OAuthError::new(
                ErrorCode::ServerError,
                "the authorization could not be recorded",
            );
            return redirect_error(
                &issuer,
                &pending.redirect_uri,
                pending.state.as_deref(),
                &err,
                StatusCode::SEE_OTHER,
            );
        }
        let mut pairs = vec![("code", code.as_str())];
        if let Some(s) = pending.state.as_deref() {
            pairs.push(("state", s));
        }
        pairs.push(("iss", issuer.as_str()));
        redirect_to(&pending.redirect_uri, &pairs, StatusCode::SEE_OTHER)
    } else {
        state.audit(e).await;
        redirect_error(
            &issuer,
            &pending.redirect_uri,
            pending.state.as_deref(),
            &OAuthError::new(ErrorCode::AccessDenied, "the user denied the request"),
            StatusCode::SEE_OTHER,
        )
    };
    let clear =
        format!("{CONSENT_COOKIE}=; Path=/authorize; Max-Age=0; HttpOnly; Secure; SameSite=Strict");
    if let Ok(v) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crossauthz_proto::verifier::VerifiedCredential;

    fn pending() -> PendingAuthorization {
        PendingAuthorization {
            client_id: "https://evil.example/c.json".into(),
            redirect_uri: "http://127.0.0.1:9000/cb".into(),
            state: None,
            code_challenge: "x".into(),
            resource: "https://mcp.beta.example/mcp".into(),
            scopes: vec!["logs:read".into()],
            subject: "u".into(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            expires_at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    // C13, M7: the client host and redirect host are shown; localhost-only warns; all escaped.
    #[test]
    fn c13_m7_consent_page_shows_hosts_warns_and_escapes() {
        let client = ResolvedClient {
            ok: true,
            deny: None,
            client_name: "<script>alert(1)</script>".into(),
            client_host: "evil.example".into(),
            logo_uri: String::new(),
            logo_id: String::new(),
            localhost_redirects_only: true,
            confidential: false,
            credential: Some(VerifiedCredential {
                id: "urn:uuid:1".into(),
                issuer: "did:web:alpha.example".into(),
                issuer_domain: "alpha.example".into(),
                format: "vc+jwt".into(),
                claims_json: json!({"agentType": "tool-agent", "complianceAttestations": [{"standard": "ISO-27001", "validUntil": "2030-01-01T00:00:00Z"}]}).to_string(),
                valid_until: None,
            }),
        };
        let page = consent_page(&pending(), &client, "Dev \"User\"", "h\"andle");
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("id=\"client-host\">evil.example<"));
        assert!(page.contains("id=\"redirect-host\">127.0.0.1<"));
        assert!(page.contains("id=\"localhost-warning\""));
        assert!(page.contains("id=\"issuer-domain\">alpha.example<"));
        assert!(page.contains("ISO-27001"));
        assert!(!page.contains("h\"andle"));
        let mut plain = client.clone();
        plain.credential = None;
        plain.localhost_redirects_only = false;
        let page = consent_page(&pending(), &plain, "u", "h");
        assert!(page.contains("id=\"no-credential\""));
        assert!(!page.contains("id=\"localhost-warning\""));
    }

    #[test]
    fn redirects_keep_the_existing_query_and_encode_values() {
        let r = redirect_to(
            "https://client.example/cb?x=1",
            &[("code", "a b"), ("state", "s&t")],
            StatusCode::FOUND,
        );
        assert_eq!(r.status(), StatusCode::FOUND);
        assert_eq!(
            r.headers()[header::LOCATION],
            "https://client.example/cb?x=1&code=a+b&state=s%26t"
        );
    }

    #[test]
    fn consent_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; crossauthz_consent=xyz; b=2".parse().unwrap(),
        );
        assert_eq!(consent_cookie(&h).as_deref(), Some("xyz"));
        assert_eq!(consent_cookie(&HeaderMap::new()), None);
    }
}
