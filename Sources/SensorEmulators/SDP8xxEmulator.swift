import I2C
import Sensors

/// SDP810-500Pa at 0x25: product identifier (two commands), averaged continuous mode whose reads need no
/// command (the first result about 8 ms after start; earlier reads NACK), stop.
public final class SDP8xxEmulator: SensirionEmulator, @unchecked Sendable {
    public var productNumber: UInt32 = 0x0302_0A01
    public var serial: UInt64 = 0x0000_1234_5678_9ABC
    /// 60 Pa^-1 for the 500 Pa part.
    public var scaleFactor: Int16 = 60
    public private(set) var continuous = false
    private var startedAt: Duration = .zero
    private var identifierRequested = false

    public init(address: I2CAddress = 0x25) {
        super.init(address: address)
    }

    override func execute(_ command: UInt16, arguments: [UInt16], context: ChipContext) -> Execution? {
        guard arguments.isEmpty else { return nil }
        if continuous {
            guard command == 0x3FF9 else { return nil }
            continuous = false
            return Execution(.microseconds(500))
        }
        switch command {
        case 0x3615:
            continuous = true
            startedAt = context.now
            return Execution(.zero)
        case 0x367C:
            identifierRequested = true
            return Execution(.zero)
        case 0xE102 where identifierRequested:
            identifierRequested = false
            return Execution(.zero, response: [
                UInt16(productNumber >> 16), UInt16(productNumber & 0xFFFF),
                UInt16(truncatingIfNeeded: serial >> 48), UInt16(truncatingIfNeeded: serial >> 32),
                UInt16(truncatingIfNeeded: serial >> 16), UInt16(truncatingIfNeeded: serial),
            ])
        default:
            return nil
        }
    }

    override func readWithoutCommand(count: Int, context: ChipContext) -> [UInt8]? {
        guard continuous, context.now - startedAt >= .milliseconds(8) else { return nil }
        let dp = Int16(clamping: Int((context.air.differentialPressure * Double(scaleFactor)).rounded()))
        let temperature = Int16(clamping: Int((context.air.temperature * 200).rounded()))
        let bytes = SensirionCRC.encode([UInt16(bitPattern: dp), UInt16(bitPattern: temperature), UInt16(bitPattern: scaleFactor)])
        return Array(bytes.prefix(count)) + Array(repeating: 0xFF, count: max(0, count - bytes.count))
    }
}
