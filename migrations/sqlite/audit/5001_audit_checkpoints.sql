-- Signed checkpoints of the audit chain (embedded SQLite); append-only like the events.
CREATE TABLE audit_checkpoints (
    seq         INTEGER PRIMARY KEY CHECK (seq >= 1),
    hash        BLOB NOT NULL CHECK (length(hash) = 32),
    event_at    TEXT NOT NULL,
    signed_at   TEXT NOT NULL,
    kid         TEXT NOT NULL,
    jws         TEXT NOT NULL
) STRICT;

CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only (UPDATE refused)');
END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only (DELETE refused)');
END;
