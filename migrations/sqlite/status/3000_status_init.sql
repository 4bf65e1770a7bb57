-- crossauthz status-list service (embedded SQLite): status lists and their allocated entries.
CREATE TABLE status_lists (
    id          BLOB PRIMARY KEY NOT NULL,
    bits        INTEGER NOT NULL CHECK (bits IN (1, 2, 4, 8)),
    capacity    INTEGER NOT NULL CHECK (capacity > 0),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
    is_full     INTEGER NOT NULL DEFAULT 0 CHECK (is_full IN (0, 1))
) STRICT;
CREATE INDEX status_lists_open ON status_lists (created_at DESC, id DESC) WHERE is_full = 0;

-- An entry exists once its index is allocated and is never deleted: an index is never reused.
CREATE TABLE status_entries (
    list_id        BLOB NOT NULL REFERENCES status_lists (id),
    idx            INTEGER NOT NULL CHECK (idx >= 0),
    credential_id  BLOB,
    state          INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),
    allocated_at   TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (list_id, idx)
) STRICT;
CREATE INDEX status_entries_non_valid ON status_entries (list_id, idx) WHERE state <> 0;
