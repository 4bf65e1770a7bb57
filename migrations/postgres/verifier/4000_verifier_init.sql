-- crossauthz verifier service: trust list, Cedar policy set versions, resource servers, and the
-- client-assertion jti replay cache.
CREATE SCHEMA IF NOT EXISTS verifier;

CREATE TABLE verifier.trusted_issuers (
    issuer            TEXT PRIMARY KEY,
    position          INTEGER NOT NULL,
    credential_types  JSONB NOT NULL,
    issuer_domains    JSONB NOT NULL
);

CREATE TABLE verifier.policy_sets (
    version     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE verifier.resources (
    resource    TEXT PRIMARY KEY,
    position    INTEGER NOT NULL,
    scopes      JSONB NOT NULL,
    attributes  JSONB NOT NULL
);

CREATE TABLE verifier.assertion_jtis (
    client_id   TEXT NOT NULL,
    jti         TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX assertion_jtis_expiry ON verifier.assertion_jtis (expires_at);
