import Foundation

/// The `outbox` section: how much the durable queue may hold before it evicts, and for how long.
public struct OutboxSettings: Sendable, Equatable {
    /// Most bytes of queued blobs (JSON plus JPEG) kept on disk.
    public var maxBytes: Int64 = 512 << 20
    /// Most items kept queued.
    public var maxItems: Int = 50_000
    /// Items older than this (by capture time) are dropped and counted, per kind.
    public var ttl = TTL()
    /// Below this much free space on the state filesystem, samples are refused (and periodic snapshots below half of it).
    public var freeSpaceFloor: Int64 = 256 << 20

    /// Time to live per kind of item.
    public struct TTL: Sendable, Equatable {
        public var alarm: Duration = .seconds(30 * 86400)
        public var snapshot: Duration = .seconds(14 * 86400)
        public var sample: Duration = .seconds(7 * 86400)
        public var status: Duration = .seconds(2 * 86400)

        public init() {}
    }

    public init() {}

    init(_ map: ConfigMapping) throws(ConfigurationError) {
        maxBytes = Int64(try map.optional("max_bytes")?.byteCount(in: 1 << 20...(1 << 40)) ?? Int(maxBytes))
        maxItems = try map.int("max_items", default: maxItems, in: 10...10_000_000)
        freeSpaceFloor = Int64(try map.optional("free_space_floor")?.byteCount(in: 0...(1 << 40)) ?? Int(freeSpaceFloor))
        let range: ClosedRange<Duration> = .seconds(60)...(.seconds(365 * 86400))
        ttl = try map.section("ttl") { m throws(ConfigurationError) in
            var ttl = TTL()
            ttl.alarm = try m.duration("alarm", default: ttl.alarm, in: range)
            ttl.snapshot = try m.duration("snapshot", default: ttl.snapshot, in: range)
            ttl.sample = try m.duration("sample", default: ttl.sample, in: range)
            ttl.status = try m.duration("status", default: ttl.status, in: range)
            return ttl
        }
    }
}

extension ConfigNode {
    /// A size in bytes: a plain integer or a number with a unit `KB`, `MB`, `GB` (powers of 1024; `KiB` etc. accepted too).
    public func byteCount(in range: ClosedRange<Int>? = nil) throws(ConfigurationError) -> Int {
        let text = try string().trimmingCharacters(in: .whitespaces)
        let units: [(String, Int)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
            ("KB", 1 << 10), ("MB", 1 << 20), ("GB", 1 << 30), ("TB", 1 << 40), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("B", 1),
        ]
        var value: Int?
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
            if let n = Double(number), n >= 0, n * Double(scale) < 9e18 { value = Int(n * Double(scale)) }
            break
        }
        if value == nil, let n = Int(text.replacingOccurrences(of: "_", with: "")), n >= 0 { value = n }
        guard let value else { throw error(.wrongType(expected: "a size such as 512MB, 2GB or a number of bytes")) }
        if let range, !range.contains(value) {
            throw error(.outOfRange("\(text) is not within \(range.lowerBound)...\(range.upperBound) bytes"))
        }
        return value
    }
}
