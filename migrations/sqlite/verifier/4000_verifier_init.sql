-- crossauthz verifier service (embedded SQLite): trust list, policy set versions, resource
-- servers, and the client-assertion jti replay cache.
CREATE TABLE verifier_trusted_issuers (
    issuer            TEXT PRIMARY KEY NOT NULL,
    position          INTEGER NOT NULL,
    credential_types  TEXT NOT NULL,
    issuer_domains    TEXT NOT NULL
) STRICT;

CREATE TABLE verifier_policy_sets (
    version     INTEGER PRIMARY KEY AUTOINCREMENT,
    source      TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE verifier_resources (
    resource    TEXT PRIMARY KEY NOT NULL,
    position    INTEGER NOT NULL,
    scopes      TEXT NOT NULL,
    attributes  TEXT NOT NULL
) STRICT;

CREATE TABLE verifier_assertion_jtis (
    client_id   TEXT NOT NULL,
    jti         TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    PRIMARY KEY (client_id, jti)
) STRICT;
CREATE INDEX verifier_assertion_jtis_expiry ON verifier_assertion_jtis (expires_at);
