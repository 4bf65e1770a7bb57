-- crossauthz issuer service: signing keys (private halves encrypted by the service under the
-- master key) and the register of issued credentials.
CREATE SCHEMA IF NOT EXISTS issuer;

CREATE TABLE issuer.signing_keys (
    kid                TEXT PRIMARY KEY,
    alg                TEXT NOT NULL,
    public_jwk         JSONB NOT NULL,
    encrypted_private  BYTEA NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    activated_at       TIMESTAMPTZ,
    retired_at         TIMESTAMPTZ,
    publish_until      TIMESTAMPTZ,
    CHECK (retired_at IS NULL OR activated_at IS NOT NULL)
);
-- At most one active key (activated and not retired), enforced by the database.
CREATE UNIQUE INDEX signing_keys_one_active ON issuer.signing_keys ((retired_at IS NULL))
    WHERE activated_at IS NOT NULL AND retired_at IS NULL;

CREATE TABLE issuer.credentials (
    id              UUID PRIMARY KEY,
    agent_id        UUID NOT NULL,
    subject         TEXT NOT NULL,
    format          TEXT NOT NULL,
    kid             TEXT NOT NULL REFERENCES issuer.signing_keys (kid),
    status_list_id  UUID NOT NULL,
    status_index    BIGINT NOT NULL CHECK (status_index >= 0),
    issued_at       TIMESTAMPTZ NOT NULL,
    valid_until     TIMESTAMPTZ NOT NULL,
    UNIQUE (status_list_id, status_index)
);
CREATE INDEX credentials_by_agent ON issuer.credentials (agent_id, issued_at);
CREATE INDEX credentials_by_kid ON issuer.credentials (kid, valid_until);
