import Digests
import Foundation

/// An outbox item's identity: a UUIDv7 (48-bit Unix milliseconds, then random bits), lowercase text.
/// Fixed at enqueue and part of the object key, so a retried upload overwrites the same object with the same bytes;
/// its text sorts by creation time.
public struct ItemID: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// `0190f3a2-7c4e-7d1a-9b2f-3e4d5c6b7a89`.
    public let rawValue: String

    /// Parses the text form; nil unless it is a well-formed version 7 UUID in lowercase.
    public init?(_ text: some StringProtocol) {
        let scalars = Array(text.utf8)
        guard scalars.count == 36 else { return nil }
        for (index, byte) in scalars.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                guard byte == UInt8(ascii: "-") else { return nil }
            } else {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte) else { return nil }
            }
        }
        guard scalars[14] == UInt8(ascii: "7"), [UInt8(ascii: "8"), UInt8(ascii: "9"), UInt8(ascii: "a"), UInt8(ascii: "b")].contains(scalars[19]) else {
            return nil
        }
        rawValue = String(text)
    }

    /// A new id for an item created at `date`.
    public static func make(at date: Date = Date()) -> ItemID {
        var generator = SystemRandomNumberGenerator()
        return make(at: date, using: &generator)
    }

    public static func make(at date: Date, using generator: inout some RandomNumberGenerator) -> ItemID {
        let millis = UInt64(max(0, (date.timeIntervalSince1970 * 1000).rounded(.down)))
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: millis >> (8 * (5 - UInt64(index)))) }
        for index in 6..<16 { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        let hex = Digest.hex(bytes)
        let text = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20)].joined(separator: "-")
        return ItemID(uncheckedRawValue: text)
    }

    private init(uncheckedRawValue: String) { rawValue = uncheckedRawValue }

    /// The creation time carried in the first 48 bits (millisecond precision).
    public var timestamp: Date {
        let hex = rawValue.prefix(8) + rawValue.dropFirst(9).prefix(4)
        let millis = UInt64(hex, radix: 16) ?? 0
        return Date(timeIntervalSince1970: Double(millis) / 1000)
    }

    public var description: String { rawValue }

    public static func < (lhs: ItemID, rhs: ItemID) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = ItemID(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not a UUIDv7"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
