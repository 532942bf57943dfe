-- The HTTP API's tables (fanzha.store.tables): API keys (only hashes), analysts' alert actions
-- (append-only), citizens' one-time codes, partners' delivery addresses, notifications.

CREATE TABLE api_keys (
    key_id text COLLATE "C" PRIMARY KEY,
    key_hash text COLLATE "C",
    org text COLLATE "C",
    role text COLLATE "C",
    subject text COLLATE "C",
    phone text COLLATE "C",
    label text COLLATE "C",
    created_ts timestamptz,
    expires_ts timestamptz,
    revoked_ts timestamptz
);
CREATE TABLE alert_actions (
    action_id text COLLATE "C" PRIMARY KEY,
    alert_id text COLLATE "C",
    ts timestamptz,
    actor text COLLATE "C",
    org text COLLATE "C",
    role text COLLATE "C",
    action text COLLATE "C",
    assignee text COLLATE "C",
    outcome text COLLATE "C",
    escalate_to text COLLATE "C",
    resolution text COLLATE "C",
    note text COLLATE "C",
    alert_last_seq bigint
);
CREATE TABLE otp (
    challenge_id text COLLATE "C" PRIMARY KEY,
    id_number text COLLATE "C",
    phone text COLLATE "C",
    code_hash text COLLATE "C",
    org text COLLATE "C",
    created_ts timestamptz,
    expires_ts timestamptz,
    attempts bigint,
    used_ts timestamptz
);
CREATE TABLE partners (
    partner text COLLATE "C" PRIMARY KEY,
    webhook_url text COLLATE "C",
    secret text COLLATE "C",
    file_dir text COLLATE "C",
    updated_ts timestamptz
);
CREATE TABLE notifications (
    notification_id text COLLATE "C" PRIMARY KEY,
    partner text COLLATE "C",
    topic text COLLATE "C",
    payload text COLLATE "C",
    created_ts timestamptz,
    status text COLLATE "C",
    attempts bigint,
    next_attempt_ts timestamptz,
    last_attempt_ts timestamptz,
    delivered_ts timestamptz,
    channel text COLLATE "C",
    last_error text COLLATE "C"
);
CREATE UNIQUE INDEX api_keys_hash ON api_keys (key_hash);
CREATE INDEX alert_actions_alert ON alert_actions (alert_id, ts);
CREATE INDEX otp_created ON otp (created_ts);
CREATE INDEX notifications_due ON notifications (status, next_attempt_ts);
