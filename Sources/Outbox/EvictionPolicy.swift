import Foundation

/// Decides which queued items give way when a new one would exceed the disk budget. Pure: no I/O, no clock.
///
/// Victims are taken lowest rank first (samples, periodic snapshots, status, alarm snapshots, alarms), oldest first
/// within a rank, so alarms are never evicted while anything else remains. The incoming item competes too: when it is
/// itself the next victim (a sample arriving at a queue full of alarms), it is rejected instead.
public struct EvictionPolicy: Sendable, Equatable {
    /// Most bytes of blobs kept queued.
    public var maxBytes: Int64
    /// Most items kept queued.
    public var maxItems: Int

    public init(maxBytes: Int64, maxItems: Int) {
        self.maxBytes = maxBytes
        self.maxItems = maxItems
    }

    /// What the policy needs to know about an item.
    public struct Candidate: Sendable, Equatable {
        public var id: ItemID
        public var rank: Int
        public var createdAt: Date
        public var bytes: Int64

        public init(id: ItemID, rank: Int, createdAt: Date, bytes: Int64) {
            self.id = id
            self.rank = rank
            self.createdAt = createdAt
            self.bytes = bytes
        }
    }

    /// Current queue totals.
    public struct Usage: Sendable, Equatable {
        public var items: Int
        public var bytes: Int64

        public init(items: Int, bytes: Int64) {
            self.items = items
            self.bytes = bytes
        }
    }

    public enum Decision: Sendable, Equatable {
        /// Admit the new item after evicting these (possibly none), in eviction order.
        case admit(evicting: [ItemID])
        /// Refuse the new item: it ranks below everything that would have to go.
        case reject
    }

    /// Eviction order: rank ascending, then oldest first, then id (deterministic on equal times).
    public static func precedes(_ a: Candidate, _ b: Candidate) -> Bool {
        if a.rank != b.rank { return a.rank < b.rank }
        if a.createdAt != b.createdAt { return a.createdAt < b.createdAt }
        return a.id < b.id
    }

    /// Whether `usage` plus `incoming` fits without evicting anything.
    public func fits(_ usage: Usage, adding incoming: Candidate) -> Bool {
        usage.items + 1 <= maxItems && usage.bytes + incoming.bytes <= maxBytes
    }

    /// Decides for `incoming` given the queue's `usage` and its `candidates` (any order; the caller may pass only the
    /// first few in eviction order, enough to free the space needed).
    public func decide(usage: Usage, incoming: Candidate, candidates: [Candidate]) -> Decision {
        if incoming.bytes > maxBytes { return .reject }
        var items = usage.items
        var bytes = usage.bytes
        var victims: [ItemID] = []
        for candidate in candidates.sorted(by: Self.precedes) {
            if items + 1 <= maxItems && bytes + incoming.bytes <= maxBytes { break }
            if Self.precedes(incoming, candidate) { return .reject }
            victims.append(candidate.id)
            items -= 1
            bytes -= candidate.bytes
        }
        guard items + 1 <= maxItems && bytes + incoming.bytes <= maxBytes else { return .reject }
        return .admit(evicting: victims)
    }
}

/// Whether the filesystem's free space allows an item of this rank: below the floor samples are refused,
/// below half of it periodic snapshots too; alarms, status and alarm snapshots are always tried.
public enum FreeSpaceRule {
    public static func admits(rank: Int, freeBytes: Int64, floor: Int64) -> Bool {
        switch rank {
        case 0: return freeBytes >= floor
        case 1: return freeBytes >= floor / 2
        default: return true
        }
    }
}
