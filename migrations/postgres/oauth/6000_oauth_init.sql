-- crossauthz gateway OAuth grant state (issue 5): pending consent requests, authorization codes
-- (single use, PKCE), refresh-token families with rotation and reuse detection, and revoked
-- access-token jtis until they expire. Secrets (request handles, codes, refresh tokens) are
-- stored only as SHA-256 hashes.
CREATE SCHEMA IF NOT EXISTS oauth;

CREATE TABLE oauth.pending_authorizations (
    key_hash        BYTEA PRIMARY KEY,
    client_id       TEXT NOT NULL,
    redirect_uri    TEXT NOT NULL,
    state           TEXT,
    code_challenge  TEXT NOT NULL,
    resource        TEXT NOT NULL,
    scopes          JSONB NOT NULL,
    subject         TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    CHECK (expires_at > created_at)
);
CREATE INDEX pending_authorizations_expiry ON oauth.pending_authorizations (expires_at);

CREATE TABLE oauth.authorization_codes (
    code_hash       BYTEA PRIMARY KEY,
    client_id       TEXT NOT NULL,
    redirect_uri    TEXT NOT NULL,
    resource        TEXT NOT NULL,
    scopes          JSONB NOT NULL,
    code_challenge  TEXT NOT NULL,
    subject         TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    redeemed_at     TIMESTAMPTZ,
    family_id       UUID,
    CHECK (expires_at > created_at)
);
CREATE INDEX authorization_codes_expiry ON oauth.authorization_codes (expires_at);

CREATE TABLE oauth.refresh_families (
    family_id       UUID PRIMARY KEY,
    client_id       TEXT NOT NULL,
    confidential    BOOLEAN NOT NULL,
    subject         TEXT NOT NULL,
    resource        TEXT NOT NULL,
    scopes          JSONB NOT NULL,
    credential_id   TEXT,
    issuer_domain   TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    revoked_at      TIMESTAMPTZ,
    revoked_reason  TEXT,
    CHECK (expires_at > created_at)
);
CREATE INDEX refresh_families_expiry ON oauth.refresh_families (expires_at);

CREATE TABLE oauth.refresh_tokens (
    token_hash      BYTEA PRIMARY KEY,
    family_id       UUID NOT NULL REFERENCES oauth.refresh_families (family_id) ON DELETE CASCADE,
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    used_at         TIMESTAMPTZ,
    CHECK (expires_at > created_at)
);
CREATE INDEX refresh_tokens_by_family ON oauth.refresh_tokens (family_id);

CREATE TABLE oauth.revoked_access_tokens (
    jti             TEXT PRIMARY KEY,
    client_id       TEXT NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    revoked_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX revoked_access_tokens_expiry ON oauth.revoked_access_tokens (expires_at);
