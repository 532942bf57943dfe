-- Dissuasion tasks made by `fanzha dispatch` and what came of them (fanzha.store.tables
-- TASK_SCHEMA and OUTCOME_SCHEMA).

CREATE TABLE tasks (
    task_id text COLLATE "C" PRIMARY KEY,
    alert_id text COLLATE "C",
    action text COLLATE "C",
    channel text COLLATE "C",
    entity text COLLATE "C",
    recipient text COLLATE "C",
    tier text COLLATE "C",
    fraud_type text COLLATE "C",
    created_ts timestamptz,
    due_ts timestamptz,
    status text COLLATE "C",
    sink text COLLATE "C",
    sent_at timestamptz,
    attempts bigint,
    payload text COLLATE "C",
    error text COLLATE "C"
);
CREATE INDEX tasks_status ON tasks (status, created_ts);

CREATE TABLE outcomes (
    outcome_id text COLLATE "C" PRIMARY KEY,
    task_id text COLLATE "C",
    alert_id text COLLATE "C",
    outcome text COLLATE "C",
    outcome_ts timestamptz,
    "by" text COLLATE "C",
    note text COLLATE "C",
    recorded_at timestamptz
);
