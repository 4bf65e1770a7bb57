//! Builder for the client metadata documents our registry hosts. [`DocumentBuilder::build`]
//! serialises the document and runs it through [`parse_fetched`](super::parse_fetched), so a
//! built document always passes the same rules a foreign AS applies.

use serde_json::{Map, Value};

use super::{CimdError, CimdLimits, ClientMetadataDocument, ValidatedDocument, parse_fetched};
use crate::client_id::ClientIdUrl;
use crate::jwk_policy::SigningAlg;
use crate::scope::ScopeSet;

/// Builds a [`ClientMetadataDocument`]; see [`ClientMetadataDocument::builder`].
#[derive(Debug, Clone)]
pub struct DocumentBuilder {
    doc: ClientMetadataDocument,
}

impl DocumentBuilder {
    pub(super) fn new(client_id: ClientIdUrl, client_name: String) -> Self {
        Self {
            doc: ClientMetadataDocument {
                client_id: client_id.into_string(),
                client_name: Some(client_name),
                client_uri: None,
                logo_uri: None,
                redirect_uris: Vec::new(),
                grant_types: None,
                response_types: None,
                token_endpoint_auth_method: Some("none".to_owned()),
                token_endpoint_auth_signing_alg: None,
                jwks: None,
                jwks_uri: None,
                scope: None,
                contacts: Vec::new(),
                software_id: None,
                software_version: None,
                vc_jwt: None,
                dc_sd_jwt: None,
                extra: Map::new(),
            },
        }
    }

    /// Adds a redirect URI.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.doc.redirect_uris.push(uri.into());
        self
    }

    /// Sets the grant types (e.g. `["client_credentials"]`).
    pub fn grant_types<I, S>(mut self, grants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.doc.grant_types = Some(grants.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the response types.
    pub fn response_types<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.doc.response_types = Some(types.into_iter().map(Into::into).collect());
        self
    }

    /// Publishes an inline JWK Set and selects `private_key_jwt` with `alg`.
    pub fn private_key_jwt(mut self, jwks: Value, alg: SigningAlg) -> Self {
        self.doc.jwks = Some(jwks);
        self.doc.jwks_uri = None;
        self.doc.token_endpoint_auth_method = Some("private_key_jwt".to_owned());
        self.doc.token_endpoint_auth_signing_alg = Some(alg.as_str().to_owned());
        self
    }

    /// Points to a JWK Set URL and selects `private_key_jwt` with `alg`.
    pub fn private_key_jwt_uri(mut self, jwks_uri: impl Into<String>, alg: SigningAlg) -> Self {
        self.doc.jwks_uri = Some(jwks_uri.into());
        self.doc.jwks = None;
        self.doc.token_endpoint_auth_method = Some("private_key_jwt".to_owned());
        self.doc.token_endpoint_auth_signing_alg = Some(alg.as_str().to_owned());
        self
    }

    /// Sets the scopes.
    pub fn scope(mut self, scope: &ScopeSet) -> Self {
        self.doc.scope = Some(scope.render());
        self
    }

    /// Sets the home page URL.
    pub fn client_uri(mut self, uri: impl Into<String>) -> Self {
        self.doc.client_uri = Some(uri.into());
        self
    }

    /// Sets the logo URL.
    pub fn logo_uri(mut self, uri: impl Into<String>) -> Self {
        self.doc.logo_uri = Some(uri.into());
        self
    }

    /// Adds a contact.
    pub fn contact(mut self, contact: impl Into<String>) -> Self {
        self.doc.contacts.push(contact.into());
        self
    }

    /// Sets software id and version.
    pub fn software(mut self, id: impl Into<String>, version: impl Into<String>) -> Self {
        self.doc.software_id = Some(id.into());
        self.doc.software_version = Some(version.into());
        self
    }

    /// Sets the `vc+jwt` member (the newest valid credential, compact JWS).
    pub fn vc_jwt(mut self, compact: impl Into<String>) -> Self {
        self.doc.vc_jwt = Some(compact.into());
        self
    }

    /// Sets the `dc+sd-jwt` member.
    pub fn dc_sd_jwt(mut self, sd_jwt: impl Into<String>) -> Self {
        self.doc.dc_sd_jwt = Some(sd_jwt.into());
        self
    }

    /// Adds an extension member. A name that collides with a known member makes
    /// [`build`](Self::build) fail with [`CimdError::DuplicateMember`].
    pub fn extension(mut self, name: impl Into<String>, value: Value) -> Self {
        self.doc.extra.insert(name.into(), value);
        self
    }

    /// Serialises the document and validates it with [`parse_fetched`] under `limits`.
    pub fn build_validated(self, limits: &CimdLimits) -> Result<ValidatedDocument, CimdError> {
        let bytes = self.doc.to_json_bytes()?;
        parse_fetched(&bytes, &self.doc.client_id, limits)
    }

    /// Like [`build_validated`](Self::build_validated) with the default limits, returning the
    /// document only.
    pub fn build(self) -> Result<ClientMetadataDocument, CimdError> {
        self.build_validated(&CimdLimits::default())
            .map(|v| v.document)
    }
}
