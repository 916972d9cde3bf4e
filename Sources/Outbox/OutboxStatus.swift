import Foundation

/// A snapshot of the outbox for the control socket and `remotairctl status`.
public struct OutboxStatus: Sendable, Equatable, Codable {
    /// Items and bytes of one kind in one state.
    public struct Entry: Sendable, Equatable, Codable {
        public var kind: ItemKind
        public var state: ItemState
        public var items: Int
        public var bytes: Int64
    }

    public var entries: [Entry]
    /// Capture time of the oldest queued item.
    public var oldestCreatedAt: Date?
    public var lastSuccess: Date?
    public var lastError: String?
    public var lastErrorAt: Date?
    /// Why the uplink is paused (bad credentials, clock skew), nil while it runs.
    public var pausedReason: String?
    /// Items evicted for the disk budget or expired by TTL, per kind (since the database was created).
    public var evictions: [String: Int]
    /// Items whose blobs went missing or were damaged (since the database was created).
    public var lost: Int
    /// Items uploaded and removed (since the database was created).
    public var uploaded: Int
    /// Items being uploaded right now.
    public var inFlight: Int
    /// What start-up recovery found.
    public var recovery: RecoveryReport

    public var queuedItems: Int { entries.filter { $0.state == .queued }.reduce(0) { $0 + $1.items } }
    public var queuedBytes: Int64 { entries.filter { $0.state == .queued }.reduce(0) { $0 + $1.bytes } }

    public func queued(_ kind: ItemKind) -> Int {
        entries.first { $0.kind == kind && $0.state == .queued }?.items ?? 0
    }

    /// Age of the oldest queued item at `now`.
    public func oldestAge(now: Date = Date()) -> TimeInterval? {
        oldestCreatedAt.map { max(0, now.timeIntervalSince($0)) }
    }
}

/// What recovery did at start-up; logged, and kept in status.
public struct RecoveryReport: Sendable, Equatable, Codable {
    /// Temp files of interrupted writes, removed.
    public var temporaryFilesRemoved = 0
    /// Blobs without a row (an enqueue interrupted before its commit, or an upload after its commit), removed.
    public var orphanBlobsRemoved = 0
    /// Rows whose blobs were missing or damaged, marked lost.
    public var itemsMarkedLost = 0
    /// Items queued after recovery.
    public var itemsQueued = 0
    /// Set when the database failed to open or its integrity_check: where the old files were moved.
    public var databaseMovedAside: String?
    /// The integrity_check or open error that made us move it.
    public var databaseProblem: String?
    /// Items rebuilt from the spool into a fresh database.
    public var itemsRebuilt = 0
    /// Files in the spool folder we could not name, left in place.
    public var unknownFiles = 0

    public init() {}

    /// Whether anything needed repair.
    public var isClean: Bool {
        temporaryFilesRemoved == 0 && orphanBlobsRemoved == 0 && itemsMarkedLost == 0 && databaseMovedAside == nil && itemsRebuilt == 0
    }
}
