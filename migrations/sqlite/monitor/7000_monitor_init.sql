-- crossauthz monitor (embedded SQLite): alerts, baselines, known credentials, audit cursor.
CREATE TABLE monitor_alerts (
    id                  BLOB PRIMARY KEY,
    rule                TEXT NOT NULL,
    category            TEXT NOT NULL CHECK (category IN ('compliance', 'threat', 'audit')),
    severity            TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    score               REAL NOT NULL CHECK (score >= 0 AND score <= 1),
    subject             TEXT NOT NULL,
    client_id           TEXT,
    credential_id       TEXT,
    summary             TEXT NOT NULL,
    evidence            TEXT NOT NULL,
    recommended_action  TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
    first_seen          TEXT NOT NULL,
    last_seen           TEXT NOT NULL,
    occurrences         INTEGER NOT NULL CHECK (occurrences >= 1),
    acknowledged_by     TEXT,
    acknowledged_at     TEXT,
    resolved_by         TEXT,
    resolved_at         TEXT,
    note                TEXT,
    action              TEXT
) STRICT;
CREATE UNIQUE INDEX monitor_alerts_one_unresolved ON monitor_alerts (rule, subject) WHERE state <> 'resolved';
CREATE INDEX monitor_alerts_by_time ON monitor_alerts (first_seen, id);
CREATE INDEX monitor_alerts_by_client ON monitor_alerts (client_id);

CREATE TABLE monitor_baselines (
    client_id   TEXT PRIMARY KEY,
    baseline    TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE monitor_credentials (
    client_id       TEXT PRIMARY KEY,
    credential_id   TEXT,
    issuer          TEXT NOT NULL,
    issuer_domain   TEXT,
    format          TEXT NOT NULL,
    claims          TEXT NOT NULL,
    valid_until     TEXT NOT NULL,
    holder_key      TEXT,
    origin          TEXT NOT NULL CHECK (origin IN ('local', 'foreign')),
    observed_at     TEXT NOT NULL
) STRICT;

CREATE TABLE monitor_cursors (
    name        TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL CHECK (seq >= 0),
    updated_at  TEXT NOT NULL
) STRICT;
