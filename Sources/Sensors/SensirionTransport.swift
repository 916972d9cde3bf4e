import I2C

/// The Sensirion word protocol over an I2C bus: a command (16 or 8 bits, no CRC) with CRC'd argument words,
/// then, after the command's execution time, a separate read of CRC'd response words.
///
/// Like Sensirion's Linux drivers, the command and the read are two transfers with a sleep between, not one
/// combined transfer: the chips NACK a read that comes before the execution time is over.
public struct SensirionTransport: Sendable {
    public let bus: any I2CBus
    public let address: I2CAddress
    public let clock: any SensorClock
    /// The chip name used in error details, e.g. `scd4x`.
    public let chip: String

    public init(bus: any I2CBus, address: I2CAddress, clock: any SensorClock, chip: String) {
        self.bus = bus
        self.address = address
        self.clock = clock
        self.chip = chip
    }

    /// The bytes of a 16-bit command with argument words: `00 10 03 00 AC` for SPS30 start in float mode.
    public static func frame(command: UInt16, arguments: [UInt16] = []) -> [UInt8] {
        [UInt8(command >> 8), UInt8(command & 0xFF)] + SensirionCRC.encode(arguments)
    }

    /// Writes a command, then waits its execution time.
    public func send(_ command: UInt16, with arguments: [UInt16] = [], wait: Duration = .zero, _ operation: String) async throws(SensorError) {
        try write(Self.frame(command: command, arguments: arguments), operation)
        if wait > .zero { await clock.sleep(for: wait) }
    }

    /// Writes a command, waits its execution time, and reads `words` response words.
    public func query(_ command: UInt16, with arguments: [UInt16] = [], wait: Duration, words: Int, _ operation: String) async throws(SensorError) -> [UInt16] {
        try await query(bytes: Self.frame(command: command, arguments: arguments), wait: wait, words: words, operation)
    }

    /// As `query`, for chips with 8-bit commands (SHT4x).
    public func query(bytes: [UInt8], wait: Duration, words: Int, _ operation: String) async throws(SensorError) -> [UInt16] {
        try write(bytes, operation)
        if wait > .zero { await clock.sleep(for: wait) }
        return try readWords(words, operation)
    }

    /// Writes raw bytes.
    public func write(_ bytes: [UInt8], _ operation: String) throws(SensorError) {
        do {
            try bus.write(bytes, to: address)
        } catch {
            throw SensorError(error, during: "\(chip) \(operation)")
        }
    }

    /// Reads `words` words and checks every CRC.
    public func readWords(_ words: Int, _ operation: String) throws(SensorError) -> [UInt16] {
        let bytes: [UInt8]
        do {
            bytes = try bus.read(count: words * 3, from: address)
        } catch {
            throw SensorError(error, during: "\(chip) \(operation)")
        }
        return try Self.decode(bytes, words: words, "\(chip) \(operation)")
    }

    /// Decodes a response frame of `words` words: length and every CRC checked.
    public static func decode(_ bytes: [UInt8], words: Int, _ what: String) throws(SensorError) -> [UInt16] {
        guard bytes.count == words * 3 else {
            throw SensorError(.malformed, "\(what): \(bytes.count) bytes, expected \(words * 3)")
        }
        switch SensirionCRC.decode(bytes) {
        case .success(let decoded): return decoded
        case .failure(.crc(let word)): throw SensorError(.crc, "\(what): word \(word) failed CRC")
        case .failure(.length(let count)): throw SensorError(.malformed, "\(what): \(count) bytes is not whole words")
        }
    }
}
