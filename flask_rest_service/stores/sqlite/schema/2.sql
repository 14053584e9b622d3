-- Schema version 2: alert rules, their state per sensor, the history of
-- transitions and of each notification's delivery. Applied on top of
-- version 1 (a new file gets both, in order).

-- A rule is its document as BSON (name, kind, sensors, condition, targets,
-- its webhook secret). Targets hold secrets: the API shows them masked.
CREATE TABLE rules (
    id BLOB PRIMARY KEY,       -- ObjectId bytes
    doc BLOB NOT NULL
);

-- Where each rule stands for each sensor. Changed only by compare-and-set
-- on version, so that of several processes seeing the same change, one
-- writes it (and its event).
CREATE TABLE alert_states (
    rule BLOB NOT NULL,
    sensor TEXT NOT NULL,
    state TEXT NOT NULL,       -- ok, pending, firing
    since INTEGER,             -- epoch ms
    pending_since INTEGER,
    last_at INTEGER,
    value,
    version INTEGER NOT NULL,
    PRIMARY KEY (rule, sensor)
);

-- One row per notified transition (firing, resolved), written in the same
-- transaction as the state it moves to.
CREATE TABLE alert_events (
    id TEXT PRIMARY KEY,       -- rule:sensor:version
    rule BLOB NOT NULL,
    at INTEGER NOT NULL,
    doc BLOB NOT NULL          -- the event as the API shows it, without deliveries
);
CREATE INDEX alert_events_rule ON alert_events (rule, at);

-- One row per event and target: queued, sending (claimed until lease_until),
-- delivered or failed; retried with backoff until then.
CREATE TABLE alert_deliveries (
    event TEXT NOT NULL,       -- alert_events.id (deleted with it by the store)
    idx INTEGER NOT NULL,
    url TEXT NOT NULL,         -- the target itself: never shown
    target TEXT NOT NULL,      -- as the API shows it
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_at INTEGER NOT NULL,
    lease_until INTEGER,
    last_error TEXT,
    delivered_at INTEGER,
    PRIMARY KEY (event, idx)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (status, next_at);

-- Counters other processes watch: "rules" changes with every rule change,
-- so that each process knows when to read the rules again.
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
