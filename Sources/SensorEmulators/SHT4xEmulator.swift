import I2C

/// SHT4x at 0x44: one-byte commands, measurement after its execution time, serial number, soft reset.
public final class SHT4xEmulator: SensirionEmulator, @unchecked Sendable {
    public var serial: UInt32 = 0x0F1E_2D3C

    public init(address: I2CAddress = 0x44) {
        super.init(address: address, commandLength: 1)
    }

    override func execute(_ command: UInt16, arguments: [UInt16], context: ChipContext) -> Execution? {
        guard arguments.isEmpty else { return nil }
        let air = context.air
        let words = [Self.ticks((air.temperature + 45) * 65535 / 175), Self.ticks((air.humidity + 6) * 65535 / 125)]
        switch command {
        case 0xFD: return Execution(.microseconds(8300), response: words)
        case 0xF6: return Execution(.microseconds(4500), response: words)
        case 0xE0: return Execution(.microseconds(1700), response: words)
        case 0x89: return Execution(.microseconds(1000), response: [UInt16(serial >> 16), UInt16(serial & 0xFFFF)])
        case 0x94: return Execution(.milliseconds(1))
        default: return nil
        }
    }
}
