/// A model or daemon version: dot-separated numbers with an optional `-suffix` (`2026.12.07-ab12cd34`, `0.1.0`).
/// Versions order by their numbers alone (missing trailing numbers count as 0); the suffix names a build and
/// does not order, so two builds of the same numbers are neither newer nor older. publish-model accepts the
/// same grammar (scripts/toolchain/publish.py, VERSION_RE).
public struct ModelVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let numbers: [Int]
    public let suffix: String?
    public let description: String

    public init?(_ text: String) {
        let parts = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        let head = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        guard (1...6).contains(head.count) else { return nil }
        var numbers: [Int] = []
        for field in head {
            guard (1...9).contains(field.count), field.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }), let value = Int(field) else { return nil }
            numbers.append(value)
        }
        if parts.count == 2 {
            let suffix = parts[1]
            guard (1...64).contains(suffix.utf8.count), suffix.utf8.allSatisfy(Self.isSuffixByte) else { return nil }
            self.suffix = String(suffix)
        } else {
            self.suffix = nil
        }
        self.numbers = numbers
        self.description = text
    }

    /// Letters, digits, '.', '_' (ASCII): safe in an object key and a folder name.
    static func isSuffixByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "."), UInt8(ascii: "_"): return true
        default: return false
        }
    }

    public static func < (lhs: ModelVersion, rhs: ModelVersion) -> Bool {
        let count = max(lhs.numbers.count, rhs.numbers.count)
        for index in 0..<count {
            let a = index < lhs.numbers.count ? lhs.numbers[index] : 0
            let b = index < rhs.numbers.count ? rhs.numbers[index] : 0
            if a != b { return a < b }
        }
        return false
    }

    /// Same numbers, whatever the suffix: neither is newer.
    public static func == (lhs: ModelVersion, rhs: ModelVersion) -> Bool { !(lhs < rhs) && !(rhs < lhs) }

    public func hash(into hasher: inout Hasher) {
        var trimmed = numbers
        while trimmed.count > 1, trimmed.last == 0 { trimmed.removeLast() }
        hasher.combine(trimmed)
    }
}
