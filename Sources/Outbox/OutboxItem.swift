import Foundation

/// What an item is; decides its blobs (JSON, plus a JPEG for snapshots and samples) and its rank.
public enum ItemKind: String, Sendable, Codable, CaseIterable, Comparable {
    /// An alarm event (JSON).
    case alarm
    /// A camera snapshot: JPEG plus JSON sidecar.
    case snapshot
    /// A retraining sample: JPEG plus JSON sidecar.
    case sample
    /// A periodic status report (JSON).
    case status

    /// Whether items of this kind carry a JPEG next to their JSON.
    public var hasJPEG: Bool { self == .snapshot || self == .sample }

    public static func < (lhs: ItemKind, rhs: ItemKind) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Why an item was made: a snapshot taken because of an alarm outranks a periodic one when the disk is full.
public enum PriorityClass: String, Sendable, Codable, CaseIterable {
    case periodic
    case alarm
}

/// Eviction and upload rank: lower ranks are evicted first and uploaded last.
/// Samples, then periodic snapshots, then status reports, then alarm snapshots, then alarms.
public enum ItemRank {
    public static func of(kind: ItemKind, priority: PriorityClass) -> Int {
        switch (kind, priority) {
        case (.sample, _): return 0
        case (.snapshot, .periodic): return 1
        case (.status, _): return 2
        case (.snapshot, .alarm): return 3
        case (.alarm, _): return 4
        }
    }
}

/// An item to enqueue.
public struct NewItem: Sendable {
    /// Fixed by the caller when the body must name the item itself (its producer reserves the id first); else made at enqueue.
    public var id: ItemID?
    public var kind: ItemKind
    /// Capture or event time: drives the eviction order and the TTL (the uplink also dates its object keys by it).
    public var createdAt: Date
    /// The JSON body (event, sidecar or status).
    public var json: Data
    /// The JPEG, for snapshots and samples.
    public var jpeg: Data?
    public var priority: PriorityClass
    /// The MQTT topic under the sink's prefix that also carries the JSON (while mirroring is on), or nil: alarms go
    /// to `alarms` unless told otherwise, other kinds only when given one (`model_activated` on `events`).
    public var mqttTopic: String?

    public init(id: ItemID? = nil, kind: ItemKind, createdAt: Date, json: Data, jpeg: Data? = nil, priority: PriorityClass = .periodic,
                mqttTopic: String? = nil) {
        self.id = id
        self.kind = kind
        self.createdAt = createdAt
        self.json = json
        self.jpeg = jpeg
        self.priority = priority
        self.mqttTopic = mqttTopic ?? (kind == .alarm ? Self.alarmTopic : nil)
    }

    /// Where alarm events go: `{prefix}/alarms`.
    public static let alarmTopic = "alarms"
}

/// One blob of an item, with the digests taken at enqueue.
public struct Blob: Sendable, Equatable {
    public enum Part: String, Sendable, CaseIterable {
        case json, jpg
    }

    public var part: Part
    public var bytes: Data
    /// Lowercase hex SHA-256, as stored at enqueue (and verified against `bytes` when leased).
    public var sha256: String
    /// Lowercase hex MD5: S3 returns it as the ETag of a single-part PUT.
    public var md5: String

    public init(part: Part, bytes: Data, sha256: String, md5: String) {
        self.part = part
        self.bytes = bytes
        self.sha256 = sha256
        self.md5 = md5
    }
}

/// An item handed to the upload worker; its blobs were verified against their enqueue digests.
public struct LeasedItem: Sendable {
    public var id: ItemID
    public var kind: ItemKind
    public var priority: PriorityClass
    public var createdAt: Date
    /// Upload attempts before this one.
    public var attempts: Int
    /// The JPEG first (when present), then the JSON: a sidecar never points at an image that is not there yet.
    public var blobs: [Blob]

    public var totalBytes: Int { blobs.reduce(0) { $0 + $1.bytes.count } }
}

/// Where an item is in its life.
public enum ItemState: String, Sendable, Codable, CaseIterable {
    /// Waiting for (or in) upload.
    case queued
    /// Its blobs went missing or were damaged; kept as a row so the loss is counted and visible.
    case lost
}
