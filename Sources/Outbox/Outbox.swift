import Digests
import Foundation
import GRDB
import Logging
import Settings
import Synchronization
import Syscalls

/// The durable queue between the daemon's producers (alarms, snapshots, samples, status) and the uplink.
///
/// Metadata lives in SQLite (one writer connection, WAL, synchronous=FULL so a commit is on disk when it returns);
/// blobs live as files in `spool/`. `enqueue` writes the blobs (temp, fsync, rename, fsync folder) and then commits
/// the row: when it returns the item is durable ("acknowledged"). An item leaves only after the uplink acknowledges
/// it (`ack`), or through counted eviction, expiry or loss.
public final class Outbox: Sendable {
    /// The outbox folder (`<state_dir>/outbox`).
    public let directory: String
    let spool: Spool
    let database: DatabaseQueue
    let settings: OutboxSettings
    let logger: Logger
    let policy: EvictionPolicy
    let freeSpace: @Sendable (String) -> Int64?
    let clock: @Sendable () -> Date
    let runtime: Mutex<Runtime>
    /// Signalled on every enqueue and flush, so the upload worker does not poll the database.
    public let wakeup = Wakeup()
    /// Signalled when an alarm event joins the MQTT queue, so the MQTT sink does not poll it either. Its own
    /// flag: a signal that finds one waiter parked is not kept for another, so two waiters cannot share one.
    public let mqttWakeup = Wakeup()

    struct Runtime {
        var leased: Set<ItemID> = []
        var pausedReason: String?
        var lastError: String?
        var lastErrorAt: Date?
        var lastSuccess: Date?
        var recovery = RecoveryReport()
        var burst = EvictionBurst()
        var closed = false
        /// Kinds whose latest enqueue was refused (free-space floor, budget), until one is accepted again.
        var refusing: [ItemKind: OutboxError] = [:]
        /// Alarm events are also queued for the MQTT sink (Outbox+MQTT.swift).
        var mirrorsAlarmsToMQTT = false
    }

    init(directory: String, database: DatabaseQueue, settings: OutboxSettings, logger: Logger,
         freeSpace: @escaping @Sendable (String) -> Int64?, clock: @escaping @Sendable () -> Date) {
        self.directory = directory
        self.spool = Spool(directory: directory + "/spool")
        self.database = database
        self.settings = settings
        self.logger = logger
        self.policy = EvictionPolicy(maxBytes: settings.maxBytes, maxItems: settings.maxItems)
        self.freeSpace = freeSpace
        self.clock = clock
        self.runtime = Mutex(Runtime())
    }

    // MARK: Enqueue

    /// Largest JSON body accepted.
    public static let maxJSONBytes = 1 << 20
    /// Largest JPEG accepted.
    public static let maxJPEGBytes = 32 << 20

    /// Stores an item durably and returns its id; only then is the item acknowledged.
    /// May evict lower-ranked items to stay within the budget, or refuse the item (`budgetFull`, `belowFreeSpaceFloor`).
    @discardableResult
    public func enqueue(_ item: NewItem) throws(OutboxError) -> ItemID {
        try validate(item)
        let now = clock()
        let rank = ItemRank.of(kind: item.kind, priority: item.priority)
        if let free = freeSpace(directory), !FreeSpaceRule.admits(rank: rank, freeBytes: free, floor: settings.freeSpaceFloor) {
            try? bump(["refused.\(item.kind.rawValue)"])
            let error = OutboxError(.belowFreeSpaceFloor, "\(item.kind.rawValue) refused: \(free) bytes free, floor \(settings.freeSpaceFloor)")
            runtime.withLock { $0.refusing[item.kind] = error }
            throw error
        }
        let id = item.id ?? ItemID.make(at: now)
        var blobs: [(Spool.Name, Data)] = []
        if let jpeg = item.jpeg { blobs.append((Spool.Name(id: id, kind: item.kind, priority: item.priority, part: .jpg), jpeg)) }
        blobs.append((Spool.Name(id: id, kind: item.kind, priority: item.priority, part: .json), item.json))
        let bytes = Int64(blobs.reduce(0) { $0 + $1.1.count })
        let incoming = EvictionPolicy.Candidate(id: id, rank: rank, createdAt: item.createdAt, bytes: bytes)

        try checkOpen()
        if item.id != nil, try exists(id) {
            throw OutboxError(.invalidItem, "item \(id) is already queued")
        }
        do {
            for (name, data) in blobs { try spool.write(data, as: name) }
            try spool.syncDirectory()
        } catch {
            blobs.forEach { spool.remove($0.0) }
            throw OutboxError(.io, "writing blobs of \(id): \(error)")
        }

        let jpeg = item.jpeg
        let json = item.json
        let evicted: [EvictionPolicy.Candidate.WithName]
        do {
            evicted = try database.write { db -> [EvictionPolicy.Candidate.WithName] in
                let decision = try decide(db, incoming: incoming)
                guard case .admit(let victims) = decision else {
                    try Self.bump(db, ["evicted.\(item.kind.rawValue)"])
                    return [EvictionPolicy.Candidate.WithName(id: id, kind: item.kind, priority: item.priority, rejected: true)]
                }
                var removed: [EvictionPolicy.Candidate.WithName] = []
                for victim in victims {
                    guard let row = try Row.fetchOne(db, sql: "SELECT kind, priority FROM item WHERE id = ?", arguments: [victim.rawValue]),
                          let kind = ItemKind(rawValue: row["kind"]), let priority = PriorityClass(rawValue: row["priority"]) else { continue }
                    try db.execute(sql: "DELETE FROM item WHERE id = ?", arguments: [victim.rawValue])
                    try Self.bump(db, ["evicted.\(kind.rawValue)"])
                    removed.append(.init(id: victim, kind: kind, priority: priority, rejected: false))
                }
                try db.execute(
                    sql: """
                        INSERT INTO item (id, kind, priority, rank, createdAt, enqueuedAt, state, bytes,
                                          jsonSize, jsonSHA256, jsonMD5, jpegSize, jpegSHA256, jpegMD5)
                        VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        id.rawValue, item.kind.rawValue, item.priority.rawValue, rank, Self.millis(item.createdAt), Self.millis(now), bytes,
                        json.count, Digest.sha256(json), Digest.md5(json),
                        jpeg?.count, jpeg.map(Digest.sha256), jpeg.map(Digest.md5),
                    ])
                try recordForMQTT(db, id: id, item: item)
                return removed
            }
        } catch {
            blobs.forEach { spool.remove($0.0) }
            throw OutboxError(.io, "committing \(id): \(error)")
        }
        for victim in evicted {
            for part in Blob.Part.allCases {
                spool.remove(Spool.Name(id: victim.id, kind: victim.kind, priority: victim.priority, part: part))
            }
        }
        if !evicted.isEmpty { logEvictions(evicted, now: now) }
        if evicted.contains(where: \.rejected) {
            let error = OutboxError(.budgetFull, "\(item.kind.rawValue) refused: the budget is full of higher-ranked items")
            runtime.withLock { $0.refusing[item.kind] = error }
            throw error
        }
        runtime.withLock { _ = $0.refusing.removeValue(forKey: item.kind) }
        wakeup.signal()
        signalMQTT(after: item)
        return id
    }

    private func validate(_ item: NewItem) throws(OutboxError) {
        guard !item.json.isEmpty, item.json.count <= Self.maxJSONBytes else {
            throw OutboxError(.invalidItem, "JSON body must be 1 to \(Self.maxJSONBytes) bytes, got \(item.json.count)")
        }
        if item.kind.hasJPEG {
            guard let jpeg = item.jpeg, !jpeg.isEmpty, jpeg.count <= Self.maxJPEGBytes else {
                throw OutboxError(.invalidItem, "a \(item.kind.rawValue) needs a JPEG of 1 to \(Self.maxJPEGBytes) bytes")
            }
        } else if item.jpeg != nil {
            throw OutboxError(.invalidItem, "a \(item.kind.rawValue) carries no JPEG")
        }
    }

    private func decide(_ db: Database, incoming: EvictionPolicy.Candidate) throws -> EvictionPolicy.Decision {
        let usage = try Self.usage(db)
        if policy.fits(usage, adding: incoming) { return .admit(evicting: []) }
        // Enough of the cheapest items to make room: the over-budget amount is usually one or two items.
        var limit = 64
        while true {
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, rank, createdAt, bytes FROM item WHERE state = 'queued'
                ORDER BY rank, createdAt, id LIMIT ?
                """, arguments: [limit])
            let candidates = rows.compactMap { row -> EvictionPolicy.Candidate? in
                guard let id = ItemID(row["id"] as String? ?? "") else { return nil }
                return EvictionPolicy.Candidate(id: id, rank: row["rank"], createdAt: Self.date(row["createdAt"]), bytes: row["bytes"])
            }
            let decision = policy.decide(usage: usage, incoming: incoming, candidates: candidates)
            if case .admit = decision { return decision }
            if rows.count < limit { return decision }
            limit *= 4
        }
    }

    static func usage(_ db: Database) throws -> EvictionPolicy.Usage {
        let row = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM item WHERE state = 'queued'")
        return EvictionPolicy.Usage(items: row?["n"] ?? 0, bytes: row?["b"] ?? 0)
    }

    private func exists(_ id: ItemID) throws(OutboxError) -> Bool {
        do {
            return try database.read { db in
                try Bool.fetchOne(db, sql: "SELECT 1 FROM item WHERE id = ?", arguments: [id.rawValue]) ?? false
            }
        } catch {
            throw OutboxError(.io, "reading item \(id): \(error)")
        }
    }

    // MARK: Upload side

    /// Hands out up to `limit` queued items that are due and not already leased, highest rank first, oldest first.
    /// Blobs are read and checked against their enqueue SHA-256; a damaged item is marked lost, never uploaded.
    public func lease(limit: Int) throws(OutboxError) -> [LeasedItem] {
        try checkOpen()
        let now = clock()
        let leasedNow = runtime.withLock { $0.leased }
        let rows: [Row]
        do {
            rows = try database.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT * FROM item WHERE state = 'queued' AND nextAttemptAt <= ?
                    ORDER BY rank DESC, createdAt, id LIMIT ?
                    """, arguments: [Self.millis(now), limit + leasedNow.count])
            }
        } catch {
            throw OutboxError(.io, "reading the queue: \(error)")
        }
        var items: [LeasedItem] = []
        for row in rows where items.count < limit {
            guard let id = ItemID(row["id"] as String? ?? ""), !leasedNow.contains(id) else { continue }
            guard let kind = ItemKind(rawValue: row["kind"] as String? ?? ""),
                  let priority = PriorityClass(rawValue: row["priority"] as String? ?? "") else { continue }
            var blobs: [Blob] = []
            var problem: String?
            var parts: [(Blob.Part, String?, String?)] = []
            if kind.hasJPEG { parts.append((.jpg, row["jpegSHA256"], row["jpegMD5"])) }
            parts.append((.json, row["jsonSHA256"], row["jsonMD5"]))
            for (part, sha, md5) in parts {
                let name = Spool.Name(id: id, kind: kind, priority: priority, part: part)
                guard let sha, let md5 else { problem = "\(part.rawValue) digest missing"; break }
                guard let bytes = spool.read(name) else { problem = "\(part.rawValue) blob missing"; break }
                guard Digest.sha256(bytes) == sha else { problem = "\(part.rawValue) blob does not match its SHA-256"; break }
                blobs.append(Blob(part: part, bytes: bytes, sha256: sha, md5: md5))
            }
            if let problem {
                try? markLost(id, kind: kind, priority: priority, reason: problem)
                continue
            }
            let claimed = runtime.withLock { state in state.leased.insert(id).inserted }
            guard claimed else { continue }
            items.append(LeasedItem(id: id, kind: kind, priority: priority, createdAt: Self.date(row["createdAt"]),
                                    attempts: row["attempts"], blobs: blobs))
        }
        return items
    }

    /// The item was uploaded and the store confirmed every blob: remove it for good.
    public func ack(_ id: ItemID) throws(OutboxError) {
        defer { runtime.withLock { _ = $0.leased.remove(id) } }
        let now = clock()
        let row: Row?
        do {
            row = try database.write { db -> Row? in
                let row = try Row.fetchOne(db, sql: "SELECT kind, priority, createdAt FROM item WHERE id = ?", arguments: [id.rawValue])
                try db.execute(sql: "DELETE FROM item WHERE id = ?", arguments: [id.rawValue])
                if let row {
                    try db.execute(sql: "INSERT OR REPLACE INTO uploaded (id, kind, createdAt, uploadedAt) VALUES (?, ?, ?, ?)",
                                   arguments: [id.rawValue, row["kind"] as String?, row["createdAt"] as Int64?, Self.millis(now)])
                }
                try Self.bump(db, ["uploaded"])
                try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('lastSuccess', ?)", arguments: [String(Self.millis(now))])
                return row
            }
        } catch {
            throw OutboxError(.io, "removing uploaded item \(id): \(error)")
        }
        runtime.withLock { $0.lastSuccess = now }
        // The row goes first: a crash now leaves orphan blobs, which recovery removes, never a row without blobs.
        if let row, let kind = ItemKind(rawValue: row["kind"] as String? ?? ""), let priority = PriorityClass(rawValue: row["priority"] as String? ?? "") {
            for part in Blob.Part.allCases { spool.remove(Spool.Name(id: id, kind: kind, priority: priority, part: part)) }
        }
    }

    /// The upload failed; the item stays queued and is not handed out again before `retryAt`.
    public func fail(_ id: ItemID, error message: String, retryAt: Date) throws(OutboxError) {
        defer { runtime.withLock { _ = $0.leased.remove(id) } }
        do {
            try database.write { db in
                try db.execute(sql: "UPDATE item SET attempts = attempts + 1, lastError = ?, nextAttemptAt = ? WHERE id = ?",
                               arguments: [message, Self.millis(retryAt), id.rawValue])
            }
        } catch {
            throw OutboxError(.io, "recording failure of \(id): \(error)")
        }
    }

    /// Gives a leased item back untouched (the uplink paused or is shutting down).
    public func release(_ id: ItemID) {
        runtime.withLock { _ = $0.leased.remove(id) }
    }

    /// The earliest time a queued item becomes due, nil when the queue is empty.
    public func nextDue() -> Date? {
        let value = try? database.read { db in
            try Int64.fetchOne(db, sql: "SELECT MIN(nextAttemptAt) FROM item WHERE state = 'queued'")
        }
        return value.flatMap { $0 }.map(Self.date)
    }

    /// Makes every queued item due now (`remotairctl outbox-flush`).
    public func makeAllDue() throws(OutboxError) {
        do {
            try database.write { db in try db.execute(sql: "UPDATE item SET nextAttemptAt = 0 WHERE state = 'queued'") }
        } catch {
            throw OutboxError(.io, "flush: \(error)")
        }
        wakeup.signal()
    }

    /// Records the uplink's state for status: a pause reason (nil when running) and the last error.
    public func reportUplink(pausedReason: String?) {
        runtime.withLock { $0.pausedReason = pausedReason }
    }

    public func reportUplinkError(_ message: String) {
        let now = clock()
        runtime.withLock {
            $0.lastError = message
            $0.lastErrorAt = now
        }
    }

    // MARK: Expiry and loss

    /// Drops queued items older than their kind's TTL, counted per kind; also forgets lost rows past the TTL.
    @discardableResult
    public func expire() throws(OutboxError) -> Int {
        let now = clock()
        let ttl: [ItemKind: Duration] = [.alarm: settings.ttl.alarm, .snapshot: settings.ttl.snapshot, .sample: settings.ttl.sample, .status: settings.ttl.status]
        var expired: [EvictionPolicy.Candidate.WithName] = []
        do {
            try database.write { db in
                for kind in ItemKind.allCases {
                    let cutoff = Self.millis(now) - Int64((ttl[kind] ?? .seconds(86400)).asSeconds * 1000)
                    let rows = try Row.fetchAll(db, sql: "SELECT id, priority, state FROM item WHERE kind = ? AND createdAt < ?",
                                                arguments: [kind.rawValue, cutoff])
                    for row in rows {
                        guard let id = ItemID(row["id"] as String? ?? ""), let priority = PriorityClass(rawValue: row["priority"] as String? ?? "") else { continue }
                        if row["state"] as String? == ItemState.queued.rawValue {
                            try Self.bump(db, ["expired.\(kind.rawValue)"])
                            expired.append(.init(id: id, kind: kind, priority: priority, rejected: false))
                        }
                    }
                    try db.execute(sql: "DELETE FROM item WHERE kind = ? AND createdAt < ?", arguments: [kind.rawValue, cutoff])
                }
                try db.execute(sql: "DELETE FROM uploaded WHERE uploadedAt < ?", arguments: [Self.millis(now) - Self.uploadRecordRetentionMillis])
                // Unpublished MQTT copies of alarms follow the alarm TTL, counted like the items.
                let alarmCutoff = Self.millis(now) - Int64(settings.ttl.alarm.asSeconds * 1000)
                try db.execute(sql: "DELETE FROM mqtt_pending WHERE createdAt < ?", arguments: [alarmCutoff])
                if db.changesCount > 0 { try Self.bump(db, Array(repeating: "expired.mqtt", count: db.changesCount)) }
            }
        } catch {
            throw OutboxError(.io, "expiring items: \(error)")
        }
        for item in expired {
            for part in Blob.Part.allCases { spool.remove(Spool.Name(id: item.id, kind: item.kind, priority: item.priority, part: part)) }
        }
        if !expired.isEmpty {
            logger.notice("expired items past their TTL", metadata: ["count": "\(expired.count)"])
        }
        return expired.count
    }

    func markLost(_ id: ItemID, kind: ItemKind, priority: PriorityClass, reason: String) throws(OutboxError) {
        do {
            try database.write { db in
                try db.execute(sql: "UPDATE item SET state = 'lost', lostReason = ? WHERE id = ? AND state = 'queued'", arguments: [reason, id.rawValue])
                if db.changesCount > 0 { try Self.bump(db, ["lost"]) }
            }
        } catch {
            throw OutboxError(.io, "marking \(id) lost: \(error)")
        }
        for part in Blob.Part.allCases { spool.remove(Spool.Name(id: id, kind: kind, priority: priority, part: part)) }
        logger.error("item lost", metadata: ["item": "\(id)", "kind": "\(kind.rawValue)", "reason": "\(reason)"])
    }

    // MARK: Status and shutdown

    public func status() -> OutboxStatus {
        let state = runtime.withLock { $0 }
        var status = OutboxStatus(
            entries: [], oldestCreatedAt: nil, lastSuccess: state.lastSuccess, lastError: state.lastError, lastErrorAt: state.lastErrorAt,
            pausedReason: state.pausedReason, evictions: [:], lost: 0, uploaded: 0, inFlight: state.leased.count, recovery: state.recovery)
        _ = try? database.read { db in
            for row in try Row.fetchAll(db, sql: "SELECT kind, state, COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM item GROUP BY kind, state ORDER BY kind, state") {
                guard let kind = ItemKind(rawValue: row["kind"] as String? ?? ""), let itemState = ItemState(rawValue: row["state"] as String? ?? "") else { continue }
                status.entries.append(.init(kind: kind, state: itemState, items: row["n"], bytes: row["b"]))
            }
            if let oldest = try Int64.fetchOne(db, sql: "SELECT MIN(createdAt) FROM item WHERE state = 'queued'") {
                status.oldestCreatedAt = Self.date(oldest)
            }
            for row in try Row.fetchAll(db, sql: "SELECT name, value FROM counter") {
                let name: String = row["name"] ?? ""
                let value: Int = row["value"] ?? 0
                switch name {
                case "lost": status.lost = value
                case "uploaded": status.uploaded = value
                default:
                    for prefix in ["evicted.", "expired."] where name.hasPrefix(prefix) {
                        status.evictions[String(name.dropFirst(prefix.count)), default: 0] += value
                    }
                }
            }
            if status.lastSuccess == nil, let text = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'lastSuccess'"), let ms = Int64(text) {
                status.lastSuccess = Self.date(ms)
            }
        }
        return status
    }

    /// `PRAGMA integrity_check` on the open database: "ok" when sound.
    public func integrityCheck() throws(OutboxError) -> String {
        do {
            return try database.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") }.joined(separator: "; ")
        } catch {
            throw OutboxError(.io, "integrity_check: \(error)")
        }
    }

    /// Ids of every queued item, oldest first.
    public func queuedIDs() throws(OutboxError) -> [ItemID] {
        do {
            return try database.read { db in
                try String.fetchAll(db, sql: "SELECT id FROM item WHERE state = 'queued' ORDER BY createdAt, id").compactMap { ItemID($0) }
            }
        } catch {
            throw OutboxError(.io, "listing the queue: \(error)")
        }
    }

    /// A counter's value (`uploaded`, `lost`, `evicted.sample`, `expired.alarm`, `refused.sample`).
    public func counter(_ name: String) -> Int {
        (try? database.read { db in try Int.fetchOne(db, sql: "SELECT value FROM counter WHERE name = ?", arguments: [name]) }).flatMap { $0 } ?? 0
    }

    /// Checkpoints the WAL into the database file and closes it; later calls fail with `closed`.
    public func close() {
        let wasClosed = runtime.withLock { state in
            defer { state.closed = true }
            return state.closed
        }
        guard !wasClosed else { return }
        do {
            _ = try database.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
            try database.close()
            logger.info("outbox closed")
        } catch {
            logger.error("closing the outbox database failed", metadata: ["error": "\(error)"])
        }
    }

    func checkOpen() throws(OutboxError) {
        if runtime.withLock({ $0.closed }) { throw OutboxError(.closed, "the outbox is closed") }
    }

    // MARK: Helpers

    func bump(_ names: [String]) throws {
        try database.write { db in try Self.bump(db, names) }
    }

    static func bump(_ db: Database, _ names: [String]) throws {
        for name in names {
            try db.execute(sql: "INSERT INTO counter (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1", arguments: [name])
        }
    }

    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }

    private func logEvictions(_ evicted: [EvictionPolicy.Candidate.WithName], now: Date) {
        let message = runtime.withLock { $0.burst.record(count: evicted.count, at: now) }
        if let message {
            var kinds: [String: Int] = [:]
            for item in evicted { kinds[item.kind.rawValue, default: 0] += 1 }
            logger.warning("outbox full: evicting lowest-ranked oldest items", metadata: [
                "evicted": "\(evicted.count)", "kinds": "\(kinds.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))",
                "note": "\(message)",
            ])
        }
    }
}

extension EvictionPolicy.Candidate {
    /// An evicted (or refused) item with what names its blobs.
    struct WithName {
        var id: ItemID
        var kind: ItemKind
        var priority: PriorityClass
        var rejected: Bool
    }
}

/// Logs evictions once per burst: the first eviction after a quiet minute is logged with the previous burst's total.
struct EvictionBurst {
    var last: Date?
    var count = 0

    mutating func record(count added: Int, at now: Date) -> String? {
        defer { last = now }
        if let last, now.timeIntervalSince(last) < 60 {
            count += added
            return nil
        }
        let previous = count
        count = added
        return previous > 0 ? "previous burst evicted \(previous)" : "first burst"
    }
}
