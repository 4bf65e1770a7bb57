-- crossauthz audit log: append-only, hash-chained. hash = SHA-256(prev_hash || canonical bytes of
-- the event), computed by the store inside the transaction that serialises appends.
CREATE SCHEMA IF NOT EXISTS audit;

CREATE TABLE audit.events (
    seq            BIGINT PRIMARY KEY CHECK (seq >= 1),
    at             TIMESTAMPTZ NOT NULL,
    service        TEXT NOT NULL,
    kind           TEXT NOT NULL,
    actor          TEXT,
    client_id      TEXT,
    credential_id  TEXT,
    issuer         TEXT,
    scopes         JSONB,
    resource       TEXT,
    decision       TEXT,
    reason         TEXT,
    trace_id       TEXT,
    -- `json`, not `jsonb`: keeps the exact text that was hashed
    details        JSON NOT NULL,
    prev_hash      BYTEA NOT NULL CHECK (length(prev_hash) = 32),
    hash           BYTEA NOT NULL CHECK (length(hash) = 32)
);
CREATE INDEX events_by_time ON audit.events (at);
CREATE INDEX events_by_client ON audit.events (client_id, seq);

-- Append-only at the database level: no UPDATE, DELETE or TRUNCATE.
CREATE FUNCTION audit.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit.events is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON audit.events
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON audit.events
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();
