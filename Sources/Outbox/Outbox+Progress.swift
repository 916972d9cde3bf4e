import Foundation
import GRDB
import Settings
import Synchronization

/// How far one item got on its way to the store, for status answers (`remotairctl alarms`).
public enum ItemProgress: Sendable, Equatable {
    /// Waiting for upload; `attempts` failed so far, the last with `lastError`.
    case queued(kind: ItemKind, createdAt: Date, attempts: Int, lastError: String?)
    /// Handed to the upload worker right now.
    case uploading(kind: ItemKind, createdAt: Date, attempts: Int)
    /// The store confirmed every blob at `uploadedAt`; the item left the queue.
    case uploaded(kind: ItemKind, createdAt: Date, uploadedAt: Date)
    /// Its blobs went missing or were damaged.
    case lost(kind: ItemKind, createdAt: Date, reason: String?)
    /// Not in the queue and no upload recorded: evicted, expired, or its record pruned.
    case unknown
}

extension Outbox {
    /// Upload records are kept this long (alarms stay active for months when nobody cleans the duct).
    static let uploadRecordRetentionMillis: Int64 = 400 * 86_400_000

    /// Where the item `id` is: a read-only query; an unreadable database answers `unknown`.
    public func progress(of id: ItemID) -> ItemProgress {
        let leased = runtime.withLock { $0.leased.contains(id) }
        let answer = try? database.read { db -> ItemProgress in
            if let row = try Row.fetchOne(db, sql: "SELECT kind, state, createdAt, attempts, lastError, lostReason FROM item WHERE id = ?",
                                          arguments: [id.rawValue]) {
                guard let kind = ItemKind(rawValue: row["kind"] as String? ?? "") else { return .unknown }
                let createdAt = Self.date(row["createdAt"])
                let attempts: Int = row["attempts"] ?? 0
                if row["state"] as String? == ItemState.lost.rawValue {
                    return .lost(kind: kind, createdAt: createdAt, reason: row["lostReason"])
                }
                return leased ? .uploading(kind: kind, createdAt: createdAt, attempts: attempts)
                    : .queued(kind: kind, createdAt: createdAt, attempts: attempts, lastError: row["lastError"])
            }
            if let row = try Row.fetchOne(db, sql: "SELECT kind, createdAt, uploadedAt FROM uploaded WHERE id = ?", arguments: [id.rawValue]),
               let kind = ItemKind(rawValue: row["kind"] as String? ?? "") {
                return .uploaded(kind: kind, createdAt: Self.date(row["createdAt"]), uploadedAt: Self.date(row["uploadedAt"]))
            }
            return .unknown
        }
        return answer ?? .unknown
    }

    /// Kinds the outbox refused on their latest enqueue, with the refusal; empty while it accepts everything.
    public func refusals() -> [ItemKind: OutboxError] {
        runtime.withLock { $0.refusing }
    }

    /// Free bytes on the outbox's filesystem and the configured floor, as the enqueue check sees them.
    public func freeSpaceReport() -> (free: Int64?, floor: Int64) {
        (freeSpace(directory), settings.freeSpaceFloor)
    }
}
