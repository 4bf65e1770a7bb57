//! [`ProtectedResource`]: one resource server's configuration, metadata, token validator and
//! clock, and its axum surface — the RFC 9728 metadata routes, the [`RequireScopes`] layer that
//! guards routes, and the [`AccessToken`] extractor that hands the validated claims to handlers.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::{FromRequestParts, Request};
use axum::http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use crossauthz_core::clock::Clock;
use crossauthz_core::scope::{ScopeError, ScopeSet};
use tower::{Layer, Service};
use url::Url;

use crate::challenge::{AuthError, bearer_token, error_response};
use crate::config::{ConfigError, ResourceConfig};
use crate::fetch;
use crate::keys::KeyCache;
use crate::metadata::{ResourceMetadata, WELL_KNOWN_PATH, metadata_url};
use crate::token::{AccessTokenClaims, TokenValidator};

struct Inner {
    config: ResourceConfig,
    metadata: ResourceMetadata,
    metadata_url: Url,
    validator: TokenValidator,
    clock: Arc<dyn Clock>,
}

/// A protected resource: cheap to clone (one shared state).
#[derive(Clone)]
pub struct ProtectedResource {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ProtectedResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProtectedResource")
            .field("resource", &self.inner.metadata.resource)
            .finish_non_exhaustive()
    }
}

impl ProtectedResource {
    /// Validates `config` and builds the resource with the default HTTPS client
    /// ([`fetch::client`]).
    pub fn new(config: ResourceConfig, clock: Arc<dyn Clock>) -> Result<Self, ConfigError> {
        config.validate()?;
        let client = fetch::client(&config)?;
        Self::with_http_client(config, client, clock)
    }

    /// Validates `config` and builds the resource with a caller-built client (start from
    /// [`fetch::client_builder`] to keep its policy).
    pub fn with_http_client(
        config: ResourceConfig,
        client: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let keys = KeyCache::new(&config, client);
        Ok(Self {
            inner: Arc::new(Inner {
                metadata: ResourceMetadata::from_config(&config),
                metadata_url: metadata_url(&config.resource),
                validator: TokenValidator::new(&config, keys),
                config,
                clock,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ResourceConfig {
        &self.inner.config
    }

    /// The RFC 9728 metadata document.
    pub fn metadata(&self) -> &ResourceMetadata {
        &self.inner.metadata
    }

    /// The URL of the metadata document (the `resource_metadata` challenge parameter).
    pub fn metadata_url(&self) -> &Url {
        &self.inner.metadata_url
    }

    /// Authorizes a request: reads the bearer token, validates it at the clock's `now`, and
    /// checks that it grants every scope of `required`.
    pub async fn authorize(
        &self,
        headers: &HeaderMap,
        required: &ScopeSet,
    ) -> Result<AccessTokenClaims, AuthError> {
        let token = bearer_token(headers)?;
        let now = self.inner.clock.now();
        let claims = self
            .inner
            .validator
            .validate(token, now)
            .await
            .map_err(AuthError::InvalidToken)?;
        if !required.is_subset(&claims.scope) {
            return Err(AuthError::InsufficientScope {
                required: required.clone(),
                granted: claims.scope.clone(),
            });
        }
        Ok(claims)
    }

    /// The response for a failed [`ProtectedResource::authorize`] (see
    /// [`crate::challenge::error_response`] for the table).
    pub fn reject(&self, error: &AuthError, required: &ScopeSet) -> Response {
        error_response(error, &self.inner.metadata_url, required)
    }

    /// A layer that lets a request through only with a valid access token granting all of
    /// `scopes`, and puts the [`AccessTokenClaims`] in its extensions (read them with
    /// [`AccessToken`]). Use with `Router::route_layer`.
    pub fn require_scopes(&self, scopes: &[&str]) -> Result<RequireScopes, ScopeError> {
        Ok(RequireScopes {
            resource: self.clone(),
            required: Arc::new(ScopeSet::from_tokens(scopes)?),
        })
    }

    /// The RFC 9728 metadata routes: `GET /.well-known/oauth-protected-resource<resource path>`
    /// (RFC 9728 §3.1) and, for clients that try the root form next (M6), the bare
    /// `GET /.well-known/oauth-protected-resource`. Both serve this resource's document (a
    /// server with one resource); any other suffix is 404.
    pub fn metadata_router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let root = self.clone();
        let suffixed = self.clone();
        Router::new()
            .route(
                WELL_KNOWN_PATH,
                get(move || {
                    let r = root.clone();
                    async move { r.metadata_response() }
                }),
            )
            .route(
                &format!("{WELL_KNOWN_PATH}/{{*rest}}"),
                get(move |uri: Uri| {
                    let r = suffixed.clone();
                    async move {
                        if uri.path() == r.inner.metadata_url.path() {
                            r.metadata_response()
                        } else {
                            StatusCode::NOT_FOUND.into_response()
                        }
                    }
                }),
            )
    }

    fn metadata_response(&self) -> Response {
        (
            [
                (
                    CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=300"),
                ),
                (ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")),
            ],
            axum::Json(self.inner.metadata.clone()),
        )
            .into_response()
    }
}

/// The layer returned by [`ProtectedResource::require_scopes`].
#[derive(Clone, Debug)]
pub struct RequireScopes {
    resource: ProtectedResource,
    required: Arc<ScopeSet>,
}

impl RequireScopes {
    /// The scopes this layer requires.
    pub fn scopes(&self) -> &ScopeSet {
        &self.required
    }
}

impl<S> Layer<S> for RequireScopes {
    type Service = RequireScopesService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireScopesService {
            inner,
            resource: self.resource.clone(),
            required: self.required.clone(),
        }
    }
}

/// The service of the [`RequireScopes`] layer.
#[derive(Clone, Debug)]
pub struct RequireScopesService<S> {
    inner: S,
    resource: ProtectedResource,
    required: Arc<ScopeSet>,
}

impl<S> Service<Request> for RequireScopesService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        // The readied service goes into the future; a fresh clone stays (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let resource = self.resource.clone();
        let required = self.required.clone();
        Box::pin(async move {
            match resource.authorize(request.headers(), &required).await {
                Ok(claims) => {
                    request.extensions_mut().insert(claims);
                    inner.call(request).await
                }
                Err(e) => Ok(resource.reject(&e, &required)),
            }
        })
    }
}

/// Extractor of the claims validated by [`RequireScopes`]. Without the layer in front of the
/// handler it fails closed with 500 (a wiring error, never a pass).
#[derive(Debug, Clone)]
pub struct AccessToken(pub AccessTokenClaims);

impl<S: Send + Sync> FromRequestParts<S> for AccessToken {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<AccessTokenClaims>() {
            Some(c) => Ok(AccessToken(c.clone())),
            None => {
                tracing::error!("AccessToken extractor used on a route without RequireScopes");
                Err(StatusCode::INTERNAL_SERVER_ERROR.into_response())
            }
        }
    }
}
