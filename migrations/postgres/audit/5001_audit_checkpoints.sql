-- Signed checkpoints of the audit chain: the issuer's signature over (seq, hash, at) of one event,
-- so a rewrite of the chain up to that event (or the removal of its tail) is detectable by anyone
-- holding the domain's public keys. Append-only like the events.
CREATE TABLE audit.checkpoints (
    seq         BIGINT PRIMARY KEY CHECK (seq >= 1),
    hash        BYTEA NOT NULL CHECK (length(hash) = 32),
    event_at    TIMESTAMPTZ NOT NULL,
    signed_at   TIMESTAMPTZ NOT NULL,
    kid         TEXT NOT NULL,
    jws         TEXT NOT NULL
);

CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON audit.checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON audit.checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();
