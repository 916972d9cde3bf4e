import Foundation
import GRDB
import Settings
import Synchronization

/// The MQTT sink's own delivery record (issue 19). Every alarm event enqueued while mirroring is on gets a
/// row in `mqtt_pending` with its own copy of the JSON, in the same transaction as the item: the S3 upload
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
    }

    /// Turns mirroring of alarm events into the MQTT queue on or off (the daemon: on when `mqtt:` is set).
    /// Rows already queued stay until published, evicted or expired.
    public func mirrorAlarmsToMQTT(_ on: Bool) {
        runtime.withLock { $0.mirrorsAlarmsToMQTT = on }
    }

    /// Called inside `enqueue`'s transaction for every admitted item.
    func recordForMQTT(_ db: Database, id: ItemID, item: NewItem) throws {
        guard item.kind == .alarm, runtime.withLock({ $0.mirrorsAlarmsToMQTT }) else { return }
        guard item.json.count <= Self.maxMQTTPayloadBytes else {
            try Self.bump(db, ["refused.mqtt"])
            return
        }
        try db.execute(sql: "INSERT INTO mqtt_pending (id, createdAt, payload) VALUES (?, ?, ?)",
                       arguments: [id.rawValue, Self.millis(item.createdAt), item.json])
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
        guard item.kind == .alarm, item.json.count <= Self.maxMQTTPayloadBytes, runtime.withLock({ $0.mirrorsAlarmsToMQTT }) else { return }
        mqttWakeup.signal()
    }

    /// The oldest unpublished alarm events, in enqueue order.
    public func pendingForMQTT(limit: Int) throws(OutboxError) -> [MQTTPending] {
        try checkOpen()
        do {
            return try database.read { db in
                try Row.fetchAll(db, sql: "SELECT seq, id, createdAt, payload FROM mqtt_pending ORDER BY seq LIMIT ?", arguments: [max(1, limit)])
                    .compactMap { row -> MQTTPending? in
                        guard let id = ItemID(row["id"] as String? ?? "") else { return nil }
                        return MQTTPending(seq: row["seq"], id: id, createdAt: Self.date(row["createdAt"]), payload: row["payload"])
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
