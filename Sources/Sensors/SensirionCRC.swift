/// Sensirion's CRC-8 over each 16-bit word on the wire: polynomial 0x31, init 0xFF, MSB first,
/// no reflection, no final XOR (every Sensirion datasheet, "Checksum Calculation").
public enum SensirionCRC {
    /// The CRC of one word (big-endian on the wire).
    public static func crc(_ word: UInt16) -> UInt8 {
        crc(bytes: UInt8(word >> 8), UInt8(word & 0xFF))
    }

    /// The CRC of two bytes in wire order.
    public static func crc(bytes high: UInt8, _ low: UInt8) -> UInt8 {
        var crc: UInt8 = 0xFF
        for byte in [high, low] {
            crc ^= byte
            for _ in 0..<8 {
                crc = crc & 0x80 != 0 ? (crc << 1) ^ 0x31 : crc << 1
            }
        }
        return crc
    }

    /// Words as they go on the wire: MSB, LSB, CRC for each.
    public static func encode(_ words: [UInt16]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(words.count * 3)
        for word in words {
            bytes += [UInt8(word >> 8), UInt8(word & 0xFF), crc(word)]
        }
        return bytes
    }

    /// Checks and strips the CRC of every word; nil names the first bad word's index.
    public static func decode(_ bytes: [UInt8]) -> Result<[UInt16], DecodeFailure> {
        guard bytes.count % 3 == 0 else { return .failure(.length(bytes.count)) }
        var words: [UInt16] = []
        words.reserveCapacity(bytes.count / 3)
        var index = 0
        while index < bytes.count {
            let high = bytes[index], low = bytes[index + 1]
            guard crc(bytes: high, low) == bytes[index + 2] else { return .failure(.crc(word: index / 3)) }
            words.append(UInt16(high) << 8 | UInt16(low))
            index += 3
        }
        return .success(words)
    }

    /// Why a frame could not be decoded.
    public enum DecodeFailure: Error, Equatable {
        /// Not a multiple of 3 bytes.
        case length(Int)
        /// Word number `word` (0-based) failed its CRC.
        case crc(word: Int)
    }
}
