-- fanzha on PostgreSQL, schema version 1: the operational tables.
-- The event log tables ev_<kind> are not here: they follow fanzha.events and are created (and
-- gain new optional columns) from the event model on open, before migrations run.
-- Columns mirror the Arrow schemas in fanzha.store.tables, fanzha.engine.protocol.SIGNAL_SCHEMA
-- and fanzha.decide.ALERT_SCHEMA (tests/store/test_postgres.py checks that they agree).
-- Text is COLLATE "C" (byte order, as DuckDB compares), so ORDER BY an id is the same on both.
-- Statements end with ";" at the end of a line; a $$ ... $$ body may hold its own.

CREATE TABLE meta (
    key text COLLATE "C" PRIMARY KEY,
    value text COLLATE "C"
);
INSERT INTO meta VALUES ('max_seq', '0'), ('max_batch', '0'), ('watermark', '0');

CREATE TABLE ingest_batches (
    batch_id bigint PRIMARY KEY,
    started_at timestamptz,
    finished_at timestamptz,
    description jsonb,
    summary jsonb
);

CREATE TABLE quarantine (
    batch_id bigint,
    kind text COLLATE "C",
    source_file text COLLATE "C",
    line bigint,
    raw text COLLATE "C",
    reason_code text COLLATE "C",
    reason text COLLATE "C"
);
-- the same bad row of the same file is kept once, however often it is re-sent
CREATE UNIQUE INDEX quarantine_row ON quarantine (kind, source_file, line, reason_code, md5(raw));
CREATE INDEX quarantine_batch ON quarantine (batch_id);

CREATE TABLE signals (
    signal_id text COLLATE "C" PRIMARY KEY,
    detector text COLLATE "C" NOT NULL,
    seq bigint NOT NULL,
    ts timestamptz NOT NULL,
    entity_kind text COLLATE "C" NOT NULL,
    entity text COLLATE "C" NOT NULL,
    score double precision NOT NULL,
    fraud_type text COLLATE "C",
    evidence text COLLATE "C" NOT NULL,
    details text COLLATE "C",
    event_ids text[]
);
CREATE INDEX signals_entity ON signals (entity);

CREATE TABLE alerts (
    alert_id text COLLATE "C" PRIMARY KEY,
    rule text COLLATE "C" NOT NULL,
    dedup_key text COLLATE "C" NOT NULL,
    entity_kind text COLLATE "C" NOT NULL,
    entity text COLLATE "C" NOT NULL,
    tier text COLLATE "C" NOT NULL,
    actions text[],
    fraud_type text COLLATE "C",
    score double precision NOT NULL,
    first_ts timestamptz NOT NULL,
    last_ts timestamptz NOT NULL,
    first_seq bigint NOT NULL,
    last_seq bigint NOT NULL,
    n_signals bigint NOT NULL,
    signal_ids text[],
    evidence text COLLATE "C" NOT NULL,
    sla_due timestamptz,
    escalations bigint NOT NULL,
    policy_version text COLLATE "C" NOT NULL
);
CREATE INDEX alerts_entity ON alerts (entity);
CREATE INDEX alerts_tier_due ON alerts (tier, sla_due);

CREATE TABLE checkpoints (
    component text COLLATE "C",
    name text COLLATE "C",
    blob bytea,
    PRIMARY KEY (component, name)
);

CREATE TABLE cases (
    case_id text COLLATE "C" PRIMARY KEY,
    status text COLLATE "C",
    updated_at timestamptz,
    data jsonb
);

CREATE TABLE lists (
    entry_id text COLLATE "C" PRIMARY KEY,
    list_name text COLLATE "C",
    partner text COLLATE "C",
    entity_kind text COLLATE "C",
    entity text COLLATE "C",
    action text COLLATE "C",
    reason text COLLATE "C",
    evidence text COLLATE "C",
    created_ts timestamptz,
    expires_ts timestamptz,
    ref text COLLATE "C"
);
CREATE INDEX lists_partner ON lists (list_name, partner);

CREATE TABLE policies (
    version text COLLATE "C",
    created_at timestamptz,
    author text COLLATE "C",
    reason text COLLATE "C",
    text text COLLATE "C"
);
CREATE INDEX policies_version ON policies (version, created_at);

-- The audit log is hash-chained (fanzha checks the chain) and append-only (the database refuses
-- UPDATE, DELETE and TRUNCATE). Only the table's owner can switch the triggers off; run the
-- application under a role that does not own the tables (docs/deployment.md).
CREATE TABLE audit (
    n bigint PRIMARY KEY,
    ts timestamptz,
    actor text COLLATE "C",
    role text COLLATE "C",
    action text COLLATE "C",
    target text COLLATE "C",
    reason text COLLATE "C",
    detail text COLLATE "C",
    prev_hash text COLLATE "C",
    hash text COLLATE "C"
);

CREATE FUNCTION fanzha_refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP;
END;
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION fanzha_refuse_audit_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION fanzha_refuse_audit_change();
