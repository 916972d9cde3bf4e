import I2C
import Sensors

/// What a Sensirion chip does with one command: how long it is busy, and the words it then has to read.
public struct Execution {
    public var duration: Duration
    public var response: [UInt16]?

    public init(_ duration: Duration, response: [UInt16]? = nil) {
        self.duration = duration
        self.response = response
    }
}

/// The Sensirion word protocol as the chips implement it: a command (one or two bytes) with CRC'd argument
/// words; while a command executes the chip acknowledges nothing (a read too early NACKs, as the SCD4x
/// datasheet describes); the response words are read once, each with its CRC. A wrong argument CRC or an
/// unknown command is not acknowledged. Subclasses implement `execute`.
public class SensirionEmulator: ChipEmulator, @unchecked Sendable {
    public let address: I2CAddress
    /// 2 for most chips, 1 for the SHT4x.
    let commandLength: Int
    private var busyUntil: Duration = .zero
    private var pending: [UInt8]?
    /// Commands received, oldest first (tests check what a driver did, e.g. that persist_settings ran once).
    public private(set) var commands: [UInt16] = []

    init(address: I2CAddress, commandLength: Int = 2) {
        self.address = address
        self.commandLength = commandLength
    }

    /// Handles one command; nil means the chip refuses it (unknown, or not allowed in this mode): NACK.
    func execute(_ command: UInt16, arguments: [UInt16], context: ChipContext) -> Execution? { nil }

    /// A read that follows no command (the SDP8xx in continuous mode); nil NACKs.
    func readWithoutCommand(count: Int, context: ChipContext) -> [UInt8]? { nil }

    public func write(_ bytes: [UInt8], context: ChipContext) -> Bool {
        guard context.now >= busyUntil else { return false }
        guard bytes.count >= commandLength, (bytes.count - commandLength) % 3 == 0 else { return false }
        let command = commandLength == 2 ? UInt16(bytes[0]) << 8 | UInt16(bytes[1]) : UInt16(bytes[0])
        guard case .success(let arguments) = SensirionCRC.decode(Array(bytes[commandLength...])) else { return false }
        guard let execution = execute(command, arguments: arguments, context: context) else { return false }
        commands.append(command)
        busyUntil = context.now + execution.duration
        pending = execution.response.map { SensirionCRC.encode($0) }
        return true
    }

    public func read(count: Int, context: ChipContext) -> [UInt8]? {
        guard context.now >= busyUntil else { return nil }
        guard let response = pending else { return readWithoutCommand(count: count, context: context) }
        pending = nil
        // Reading past the response clocks out 0xFF (the bus floats high).
        return Array(response.prefix(count)) + Array(repeating: 0xFF, count: max(0, count - response.count))
    }

    /// A physical value as a 16-bit tick count, clamped to the word range.
    static func ticks(_ value: Double) -> UInt16 {
        UInt16(min(max(value.rounded(), 0), 65535))
    }
}
