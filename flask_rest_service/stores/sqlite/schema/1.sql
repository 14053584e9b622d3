-- The SQLite store, schema version 1 (PRAGMA user_version; stores/sqlite.py
-- applies 1.sql, 2.sql, ... in turn to bring a file up to date, and refuses
-- a file of a newer version).

-- Each reading is its whole document as BSON (every type at any depth, in
-- its own field order, read back exactly), plus copies of what the queries
-- filter and sort on. A copy is NULL where the document's field is absent or
-- of another kind: `sensor` and `type` when not text, `ts` when `timestamp` is
-- not a date (such readings sort before every dated one, by id), `value` when
-- not a number.
CREATE TABLE readings (
    seq INTEGER PRIMARY KEY,   -- insertion order
    id BLOB NOT NULL UNIQUE,   -- the ObjectId's 12 bytes: byte order is ObjectId order
    sensor TEXT,
    type TEXT,
    ts INTEGER,                -- timestamp in milliseconds since 1970 (UTC)
    value,                     -- no declared type: an integer stays an integer, a double a double
    doc BLOB NOT NULL
);
-- The same two orders as on MongoDB: a sensor's readings by time, and all by time.
CREATE INDEX sensor_timestamp ON readings (sensor, ts, id);
CREATE INDEX timestamp ON readings (ts, id);

-- What GET /sensors/ shows of each sensor, kept by the triggers below on
-- every insert and delete (an edit is a delete and an insert) in the same
-- transaction as the change: never a count of the readings.
CREATE TABLE sensors (
    sensor TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    first INTEGER,             -- oldest and newest ts, NULL while the sensor has no dated reading
    last INTEGER
);

CREATE TRIGGER reading_added AFTER INSERT ON readings WHEN new.sensor IS NOT NULL
BEGIN
    INSERT INTO sensors (sensor, count, first, last) VALUES (new.sensor, 1, new.ts, new.ts)
    ON CONFLICT (sensor) DO UPDATE SET
        count = count + 1,
        first = coalesce(min(first, excluded.first), first, excluded.first),
        last = coalesce(max(last, excluded.last), last, excluded.last);
END;

CREATE TRIGGER reading_removed AFTER DELETE ON readings WHEN old.sensor IS NOT NULL
BEGIN
    UPDATE sensors SET
        count = count - 1,
        first = CASE WHEN old.ts <= first THEN (
            SELECT ts FROM readings WHERE sensor = old.sensor AND ts IS NOT NULL ORDER BY ts LIMIT 1
        ) ELSE first END,
        last = CASE WHEN old.ts >= last THEN (
            SELECT ts FROM readings WHERE sensor = old.sensor AND ts IS NOT NULL ORDER BY ts DESC LIMIT 1
        ) ELSE last END
    WHERE sensor = old.sensor;
    DELETE FROM sensors WHERE sensor = old.sensor AND count <= 0;
END;

-- API keys: only the SHA-256 of a key is stored. Dates in milliseconds.
CREATE TABLE api_keys (
    name TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL,
    last_used INTEGER
);

-- Who runs the periodic jobs (jobs.py) until when: one process at a time.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires INTEGER NOT NULL
);
