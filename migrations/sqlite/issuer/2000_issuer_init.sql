-- crossauthz issuer service (embedded SQLite): signing keys and issued credentials.
CREATE TABLE issuer_signing_keys (
    kid                TEXT PRIMARY KEY NOT NULL,
    alg                TEXT NOT NULL,
    public_jwk         TEXT NOT NULL,
    encrypted_private  BLOB NOT NULL,
    created_at         TEXT NOT NULL,
    activated_at       TEXT,
    retired_at         TEXT,
    publish_until      TEXT,
    CHECK (retired_at IS NULL OR activated_at IS NOT NULL)
) STRICT;
-- At most one active key (activated and not retired), enforced by the database.
CREATE UNIQUE INDEX issuer_signing_keys_one_active ON issuer_signing_keys ((retired_at IS NULL))
    WHERE activated_at IS NOT NULL AND retired_at IS NULL;

CREATE TABLE issuer_credentials (
    id              BLOB PRIMARY KEY NOT NULL,
    agent_id        BLOB NOT NULL,
    subject         TEXT NOT NULL,
    format          TEXT NOT NULL,
    kid             TEXT NOT NULL REFERENCES issuer_signing_keys (kid),
    status_list_id  BLOB NOT NULL,
    status_index    INTEGER NOT NULL CHECK (status_index >= 0),
    issued_at       TEXT NOT NULL,
    valid_until     TEXT NOT NULL,
    UNIQUE (status_list_id, status_index)
) STRICT;
CREATE INDEX issuer_credentials_by_agent ON issuer_credentials (agent_id, issued_at);
CREATE INDEX issuer_credentials_by_kid ON issuer_credentials (kid, valid_until);
