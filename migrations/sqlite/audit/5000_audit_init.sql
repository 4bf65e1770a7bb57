-- crossauthz audit log (embedded SQLite): append-only, hash-chained. hash = SHA-256(prev_hash ||
-- canonical bytes of the event), computed by the store inside a BEGIN IMMEDIATE transaction.
CREATE TABLE audit_events (
    seq            INTEGER PRIMARY KEY CHECK (seq >= 1),
    at             TEXT NOT NULL,
    service        TEXT NOT NULL,
    kind           TEXT NOT NULL,
    actor          TEXT,
    client_id      TEXT,
    credential_id  TEXT,
    issuer         TEXT,
    scopes         TEXT,
    resource       TEXT,
    decision       TEXT,
    reason         TEXT,
    trace_id       TEXT,
    details        TEXT NOT NULL,
    prev_hash      BLOB NOT NULL CHECK (length(prev_hash) = 32),
    hash           BLOB NOT NULL CHECK (length(hash) = 32)
) STRICT;
CREATE INDEX audit_events_by_time ON audit_events (at);
CREATE INDEX audit_events_by_client ON audit_events (client_id, seq);

-- Append-only at the database level: no UPDATE or DELETE.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only (UPDATE refused)');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only (DELETE refused)');
END;
