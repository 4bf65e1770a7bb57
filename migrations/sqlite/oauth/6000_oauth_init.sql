-- crossauthz gateway OAuth grant state (embedded SQLite): pending consent requests,
-- authorization codes (single use, PKCE), refresh-token families with rotation and reuse
-- detection, revoked access-token jtis. Secrets are stored only as SHA-256 hashes (blobs);
-- UUIDs are 16-byte blobs, timestamps RFC 3339 UTC text, JSON text, booleans 0/1.
CREATE TABLE oauth_pending_authorizations (
    key_hash        BLOB PRIMARY KEY NOT NULL,
    client_id       TEXT NOT NULL,
    redirect_uri    TEXT NOT NULL,
    state           TEXT,
    code_challenge  TEXT NOT NULL,
    resource        TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    subject         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    CHECK (expires_at > created_at)
) STRICT;
CREATE INDEX oauth_pending_authorizations_expiry ON oauth_pending_authorizations (expires_at);

CREATE TABLE oauth_authorization_codes (
    code_hash       BLOB PRIMARY KEY NOT NULL,
    client_id       TEXT NOT NULL,
    redirect_uri    TEXT NOT NULL,
    resource        TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    code_challenge  TEXT NOT NULL,
    subject         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    redeemed_at     TEXT,
    family_id       BLOB,
    CHECK (expires_at > created_at)
) STRICT;
CREATE INDEX oauth_authorization_codes_expiry ON oauth_authorization_codes (expires_at);

CREATE TABLE oauth_refresh_families (
    family_id       BLOB PRIMARY KEY NOT NULL,
    client_id       TEXT NOT NULL,
    confidential    INTEGER NOT NULL CHECK (confidential IN (0, 1)),
    subject         TEXT NOT NULL,
    resource        TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    credential_id   TEXT,
    issuer_domain   TEXT,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    revoked_at      TEXT,
    revoked_reason  TEXT,
    CHECK (expires_at > created_at)
) STRICT;
CREATE INDEX oauth_refresh_families_expiry ON oauth_refresh_families (expires_at);

CREATE TABLE oauth_refresh_tokens (
    token_hash      BLOB PRIMARY KEY NOT NULL,
    family_id       BLOB NOT NULL REFERENCES oauth_refresh_families (family_id) ON DELETE CASCADE,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    used_at         TEXT,
    CHECK (expires_at > created_at)
) STRICT;
CREATE INDEX oauth_refresh_tokens_by_family ON oauth_refresh_tokens (family_id);

CREATE TABLE oauth_revoked_access_tokens (
    jti             TEXT PRIMARY KEY NOT NULL,
    client_id       TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    revoked_at      TEXT NOT NULL
) STRICT;
CREATE INDEX oauth_revoked_access_tokens_expiry ON oauth_revoked_access_tokens (expires_at);
