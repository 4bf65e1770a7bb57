-- crossauthz registry service (embedded SQLite): agents (versioned metadata documents, soft
-- delete), the credentials issued to them, and RFC 7591 dynamically registered clients.
-- Timestamps are RFC 3339 text in UTC as sqlx writes them (they sort chronologically);
-- UUIDs are 16-byte blobs; JSON is text.
CREATE TABLE registry_agents (
    id          BLOB PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    agent_type  TEXT NOT NULL,
    document    TEXT NOT NULL,
    version     INTEGER NOT NULL CHECK (version >= 1),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    deleted_at  TEXT
) STRICT;
CREATE INDEX registry_agents_live_by_creation ON registry_agents (created_at, id) WHERE deleted_at IS NULL;

CREATE TABLE registry_agent_versions (
    agent_id    BLOB NOT NULL REFERENCES registry_agents (id),
    version     INTEGER NOT NULL CHECK (version >= 1),
    name        TEXT NOT NULL,
    agent_type  TEXT NOT NULL,
    document    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (agent_id, version)
) STRICT;

CREATE TABLE registry_agent_credentials (
    id           BLOB PRIMARY KEY NOT NULL,
    agent_id     BLOB NOT NULL REFERENCES registry_agents (id),
    format       TEXT NOT NULL,
    compact      TEXT NOT NULL,
    valid_from   TEXT NOT NULL,
    valid_until  TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('active', 'suspended', 'revoked')),
    CHECK (valid_until > valid_from)
) STRICT;
CREATE INDEX registry_agent_credentials_by_agent ON registry_agent_credentials (agent_id, format, valid_from DESC);

CREATE TABLE registry_dcr_clients (
    client_id                TEXT PRIMARY KEY NOT NULL,
    registration_token_hash  BLOB NOT NULL,
    metadata                 TEXT NOT NULL,
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL
) STRICT;
