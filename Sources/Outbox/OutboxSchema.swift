import GRDB

/// The outbox database's migrations. Append new ones (the alarm-state table arrives this way); never edit a shipped one.
enum OutboxSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-items") { db in
            try db.execute(sql: """
                CREATE TABLE item (
                    id TEXT PRIMARY KEY NOT NULL,      -- UUIDv7, part of the object key
                    kind TEXT NOT NULL,                -- alarm, snapshot, sample, status
                    priority TEXT NOT NULL,            -- periodic or alarm
                    rank INTEGER NOT NULL,             -- eviction and upload rank (ItemRank)
                    createdAt INTEGER NOT NULL,        -- capture time, Unix ms
                    enqueuedAt INTEGER NOT NULL,
                    state TEXT NOT NULL,               -- queued or lost
                    bytes INTEGER NOT NULL,            -- all blobs together
                    jsonSize INTEGER NOT NULL,
                    jsonSHA256 TEXT NOT NULL,
                    jsonMD5 TEXT NOT NULL,
                    jpegSize INTEGER,
                    jpegSHA256 TEXT,
                    jpegMD5 TEXT,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    nextAttemptAt INTEGER NOT NULL DEFAULT 0,
                    lastError TEXT,
                    lostReason TEXT
                );
                CREATE INDEX item_order ON item (state, rank, createdAt);
                CREATE INDEX item_usage ON item (state, bytes);
                CREATE TABLE counter (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);
                CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                """)
        }
        // Items leave `item` once uploaded; this remembers when, so `remotairctl alarms` can say an alarm's
        // document reached the bucket instead of guessing. Pruned by `expire()` after a year.
        migrator.registerMigration("v2-uploaded") { db in
            try db.execute(sql: """
                CREATE TABLE uploaded (
                    id TEXT PRIMARY KEY NOT NULL,      -- the item's id
                    kind TEXT NOT NULL,
                    createdAt INTEGER NOT NULL,        -- capture time, Unix ms (names the key's date folders)
                    uploadedAt INTEGER NOT NULL        -- when the store confirmed the last blob, Unix ms
                );
                CREATE INDEX uploaded_age ON uploaded (uploadedAt);
                """)
        }
        // The MQTT sink's delivery record (Outbox+MQTT.swift): alarm events not yet acknowledged by the broker,
        // with their own copy of the JSON so the S3 upload can delete the item independently.
        migrator.registerMigration("v3-mqtt-pending") { db in
            try db.execute(sql: """
                CREATE TABLE mqtt_pending (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- publish order
                    id TEXT NOT NULL,                       -- the alarm item's id
                    createdAt INTEGER NOT NULL,             -- event time, Unix ms (TTL)
                    payload BLOB NOT NULL                   -- the alarm document, as enqueued
                );
                """)
        }
        // Events other than alarms on topics of their own (`model_activated` on `events`); the rows before it are alarms.
        migrator.registerMigration("v4-mqtt-topic") { db in
            try db.execute(sql: "ALTER TABLE mqtt_pending ADD COLUMN topic TEXT NOT NULL DEFAULT 'alarms'")
        }
        return migrator
    }
}
