-- crossauthz registry service: agents (versioned metadata documents, soft delete),
-- the credentials issued to them, and RFC 7591 dynamically registered clients.
CREATE SCHEMA IF NOT EXISTS registry;

CREATE TABLE registry.agents (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    agent_type  TEXT NOT NULL,
    document    JSONB NOT NULL,
    version     BIGINT NOT NULL CHECK (version >= 1),
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    deleted_at  TIMESTAMPTZ
);
CREATE INDEX agents_live_by_creation ON registry.agents (created_at, id) WHERE deleted_at IS NULL;

-- Every version of every agent, including the first; never deleted.
CREATE TABLE registry.agent_versions (
    agent_id    UUID NOT NULL REFERENCES registry.agents (id),
    version     BIGINT NOT NULL CHECK (version >= 1),
    name        TEXT NOT NULL,
    agent_type  TEXT NOT NULL,
    document    JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (agent_id, version)
);

CREATE TABLE registry.agent_credentials (
    id           UUID PRIMARY KEY,
    agent_id     UUID NOT NULL REFERENCES registry.agents (id),
    format       TEXT NOT NULL,
    compact      TEXT NOT NULL,
    valid_from   TIMESTAMPTZ NOT NULL,
    valid_until  TIMESTAMPTZ NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('active', 'suspended', 'revoked')),
    CHECK (valid_until > valid_from)
);
CREATE INDEX agent_credentials_by_agent ON registry.agent_credentials (agent_id, format, valid_from DESC);

CREATE TABLE registry.dcr_clients (
    client_id                TEXT PRIMARY KEY,
    registration_token_hash  BYTEA NOT NULL,
    metadata                 JSONB NOT NULL,
    created_at               TIMESTAMPTZ NOT NULL,
    updated_at               TIMESTAMPTZ NOT NULL
);
