import Foundation
import GRDB
import Logging
import Settings
import Synchronization

/// The MQTT sink's own delivery record (issue 19). Every alarm event (and every item given an `mqttTopic`, such as
/// `model_activated`) enqueued while mirroring is on gets a row in `mqtt_pending` with its own copy of the JSON
/// and its topic, in the same transaction as the item: the S3 upload
/// (which deletes the item and its blobs) and the MQTT publish (which deletes this row after PUBACK) are
/// independent, and neither removes what the other still owes. Rows go out in `seq` order (enqueue order).
extension Outbox {
    /// AWS IoT Core's largest message; a bigger alarm document is not mirrored (and counted `refused.mqtt`).
    public static let maxMQTTPayloadBytes = 128 * 1024

    /// One alarm event the broker has not acknowledged yet.
    public struct MQTTPending: Sendable, Equatable {
        /// Enqueue order; `markMQTTPublished` takes it.
        public var seq: Int64
        public var id: ItemID
        public var createdAt: Date
        public var payload: Data
        /// Under the sink's prefix: `alarms`, `events`.
        public var topic: String
    }

    /// Turns mirroring of alarm events into the MQTT queue on or off (the daemon: on when `mqtt:` is set).
    /// Rows already queued stay until published, evicted or expired. Turning it on after a rebuild from the spool
    /// first queues the rebuilt alarm events again (`resyncMQTTAfterRebuild`).
    public func mirrorAlarmsToMQTT(_ on: Bool) {
        runtime.withLock { $0.mirrorsAlarmsToMQTT = on }
        guard on else { return }
        do {
            if try resyncMQTTAfterRebuild() > 0 { mqttWakeup.signal() }
        } catch {
            // The marker stays: the next start (or reload) tries again.
            logger.error("mqtt: re-queueing the rebuilt alarm events failed", metadata: ["error": "\(error)"])
        }
    }

    /// The meta key a rebuild from the spool sets: the MQTT queue died with the old database.
    static let mqttResyncKey = "mqttResync"

    /// After a rebuild the MQTT queue is empty, though some of the events it owed may still be in the spool: the
    /// alarm events not yet uploaded. Queues those again, in id order, which is enqueue order to the millisecond
    /// (the rebuilt database knows no finer one; duplicates of what the broker already
    /// had are possible; that is at-least-once). Events the uplink had already taken cannot be recovered: their
    /// JSON left with the upload. The marker stays until mirroring is on, so a board whose `mqtt:` section comes
    /// later (a reload) still gets them. Returns how many were queued.
    @discardableResult
    func resyncMQTTAfterRebuild() throws -> Int {
        try database.write { db -> Int in
            guard try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [Self.mqttResyncKey]) != nil else { return 0 }
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, priority, createdAt FROM item
                WHERE kind = 'alarm' AND state = 'queued' AND id NOT IN (SELECT id FROM mqtt_pending)
                ORDER BY id
                """)
            var queued = 0
            for row in rows {
                guard let id = ItemID(row["id"] as String? ?? ""), let priority = PriorityClass(rawValue: row["priority"] as String? ?? ""),
                      let json = spool.read(Spool.Name(id: id, kind: .alarm, priority: priority, part: .json)),
                      json.count <= Self.maxMQTTPayloadBytes else { continue }
                try db.execute(sql: "INSERT INTO mqtt_pending (id, createdAt, payload, topic) VALUES (?, ?, ?, ?)",
                               arguments: [id.rawValue, row["createdAt"] as Int64, json, NewItem.alarmTopic])
                queued += 1
            }
            try db.execute(sql: "DELETE FROM meta WHERE key = ?", arguments: [Self.mqttResyncKey])
            try Self.bump(db, Array(repeating: "resynced.mqtt", count: queued))
            logger.warning("mqtt: the outbox database was rebuilt; alarm events still in the spool queued again", metadata: ["queued": "\(queued)"])
            return queued
        }
    }

    /// Called inside `enqueue`'s transaction for every admitted item.
    func recordForMQTT(_ db: Database, id: ItemID, item: NewItem) throws {
        guard let topic = item.mqttTopic, runtime.withLock({ $0.mirrorsAlarmsToMQTT }) else { return }
        guard item.json.count <= Self.maxMQTTPayloadBytes else {
            try Self.bump(db, ["refused.mqtt"])
            return
        }
        try db.execute(sql: "INSERT INTO mqtt_pending (id, createdAt, payload, topic) VALUES (?, ?, ?, ?)",
                       arguments: [id.rawValue, Self.millis(item.createdAt), item.json, topic])
        // The queue is bounded like the outbox (max_items): past it the oldest event goes, counted, so a
        // board offline for months cannot fill its disk with undelivered MQTT copies.
        let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM mqtt_pending") ?? 0
        let excess = count - settings.maxItems
        if excess > 0 {
            try db.execute(sql: "DELETE FROM mqtt_pending WHERE seq IN (SELECT seq FROM mqtt_pending ORDER BY seq LIMIT ?)", arguments: [excess])
            try Self.bump(db, Array(repeating: "evicted.mqtt", count: excess))
        }
    }

    /// After `enqueue` committed: wakes the MQTT sink when the item went into its queue (signalled after the
    /// commit, so the sink cannot look before the row is there and go back to sleep).
    func signalMQTT(after item: NewItem) {
        guard item.mqttTopic != nil, item.json.count <= Self.maxMQTTPayloadBytes, runtime.withLock({ $0.mirrorsAlarmsToMQTT }) else { return }
        mqttWakeup.signal()
    }

    /// The oldest unpublished alarm events, in enqueue order.
    public func pendingForMQTT(limit: Int) throws(OutboxError) -> [MQTTPending] {
        try checkOpen()
        do {
            return try database.read { db in
                try Row.fetchAll(db, sql: "SELECT seq, id, createdAt, payload, topic FROM mqtt_pending ORDER BY seq LIMIT ?", arguments: [max(1, limit)])
                    .compactMap { row -> MQTTPending? in
                        guard let id = ItemID(row["id"] as String? ?? "") else { return nil }
                        return MQTTPending(seq: row["seq"], id: id, createdAt: Self.date(row["createdAt"]), payload: row["payload"], topic: row["topic"])
                    }
            }
        } catch {
            throw OutboxError(.io, "reading the MQTT queue: \(error)")
        }
    }

    /// The broker acknowledged (PUBACK) this event: forget it, durably.
    public func markMQTTPublished(_ seq: Int64) throws(OutboxError) {
        try checkOpen()
        do {
            try database.write { db in
                try db.execute(sql: "DELETE FROM mqtt_pending WHERE seq = ?", arguments: [seq])
                if db.changesCount > 0 { try Self.bump(db, ["published.mqtt"]) }
            }
        } catch {
            throw OutboxError(.io, "marking MQTT event \(seq) published: \(error)")
        }
    }

    /// Alarm events waiting for the broker.
    public func mqttDepth() -> Int {
        (try? database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM mqtt_pending") }).flatMap { $0 } ?? 0
    }
}
