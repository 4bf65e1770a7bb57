-- crossauthz status-list service: status lists and their allocated entries, the single source of
-- truth that both published formats (IETF Token Status List, W3C Bitstring Status List) render.
CREATE SCHEMA IF NOT EXISTS status;

CREATE TABLE status.lists (
    id          UUID PRIMARY KEY,
    bits        SMALLINT NOT NULL CHECK (bits IN (1, 2, 4, 8)),
    capacity    BIGINT NOT NULL CHECK (capacity > 0),
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    -- bumped in the same transaction as every entry state change (ETag of the rendered list)
    version     BIGINT NOT NULL DEFAULT 0 CHECK (version >= 0),
    is_full     BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX lists_open ON status.lists (created_at DESC, id DESC) WHERE NOT is_full;

-- An entry exists once its index is allocated and is never deleted: an index is never reused.
CREATE TABLE status.entries (
    list_id        UUID NOT NULL REFERENCES status.lists (id),
    idx            BIGINT NOT NULL CHECK (idx >= 0),
    credential_id  UUID,
    state          SMALLINT NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),
    allocated_at   TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (list_id, idx)
);
CREATE INDEX entries_non_valid ON status.entries (list_id, idx) WHERE state <> 0;
