-- crossauthz monitor: alerts (compliance, threat, audit), per-agent behaviour baselines, the
-- credentials the monitor knows (local and foreign agents), and its position in the audit log.
CREATE SCHEMA IF NOT EXISTS monitor;

CREATE TABLE monitor.alerts (
    id                  UUID PRIMARY KEY,
    rule                TEXT NOT NULL,
    category            TEXT NOT NULL CHECK (category IN ('compliance', 'threat', 'audit')),
    severity            TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    score               DOUBLE PRECISION NOT NULL CHECK (score >= 0 AND score <= 1),
    subject             TEXT NOT NULL,
    client_id           TEXT,
    credential_id       TEXT,
    summary             TEXT NOT NULL,
    evidence            JSONB NOT NULL,
    recommended_action  TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
    first_seen          TIMESTAMPTZ NOT NULL,
    last_seen           TIMESTAMPTZ NOT NULL,
    occurrences         BIGINT NOT NULL CHECK (occurrences >= 1),
    acknowledged_by     TEXT,
    acknowledged_at     TIMESTAMPTZ,
    resolved_by         TEXT,
    resolved_at         TIMESTAMPTZ,
    note                TEXT,
    action              TEXT
);
-- At most one unresolved alert per rule and subject: a rule firing again bumps it.
CREATE UNIQUE INDEX alerts_one_unresolved ON monitor.alerts (rule, subject) WHERE state <> 'resolved';
CREATE INDEX alerts_by_time ON monitor.alerts (first_seen, id);
CREATE INDEX alerts_by_client ON monitor.alerts (client_id);

CREATE TABLE monitor.baselines (
    client_id   TEXT PRIMARY KEY,
    baseline    JSONB NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE monitor.credentials (
    client_id       TEXT PRIMARY KEY,
    credential_id   TEXT,
    issuer          TEXT NOT NULL,
    issuer_domain   TEXT,
    format          TEXT NOT NULL,
    claims          JSONB NOT NULL,
    valid_until     TIMESTAMPTZ NOT NULL,
    holder_key      TEXT,
    origin          TEXT NOT NULL CHECK (origin IN ('local', 'foreign')),
    observed_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE monitor.cursors (
    name        TEXT PRIMARY KEY,
    seq         BIGINT NOT NULL CHECK (seq >= 0),
    updated_at  TIMESTAMPTZ NOT NULL
);
