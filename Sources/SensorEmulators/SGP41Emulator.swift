import I2C

/// SGP41 at 0x59: conditioning, raw signals from the air, self test, heater off, serial. It remembers the
/// compensation words it was sent and how long conditioning ran (more than 10 s can damage the NOx pixel).
public final class SGP41Emulator: SensirionEmulator, @unchecked Sendable {
    public var serial: UInt64 = 0x0000_0A1B_2C3D
    /// The last humidity and temperature compensation words received.
    public private(set) var lastCompensation: [UInt16] = []
    /// Time from the first to the last conditioning command, before any measurement.
    public private(set) var conditioningDuration: Duration = .zero
    public private(set) var heaterOn = false
    private var conditioningStartedAt: Duration?
    private var measured = false

    public init(address: I2CAddress = 0x59) {
        super.init(address: address)
    }

    override func execute(_ command: UInt16, arguments: [UInt16], context: ChipContext) -> Execution? {
        let air = context.air
        switch command {
        case 0x2612 where arguments.count == 2:
            lastCompensation = arguments
            heaterOn = true
            if !measured {
                let start = conditioningStartedAt ?? context.now
                conditioningStartedAt = start
                conditioningDuration = context.now - start
            }
            return Execution(.milliseconds(50), response: [Self.ticks(air.vocRaw)])
        case 0x2619 where arguments.count == 2:
            lastCompensation = arguments
            heaterOn = true
            measured = true
            return Execution(.milliseconds(50), response: [Self.ticks(air.vocRaw), Self.ticks(air.noxRaw)])
        case 0x280E where arguments.isEmpty:
            return Execution(.milliseconds(320), response: [0xD400])
        case 0x3615 where arguments.isEmpty:
            heaterOn = false
            return Execution(.milliseconds(1))
        case 0x3682 where arguments.isEmpty:
            return Execution(.milliseconds(1), response: [UInt16(truncatingIfNeeded: serial >> 32), UInt16(truncatingIfNeeded: serial >> 16), UInt16(truncatingIfNeeded: serial)])
        default:
            return nil
        }
    }
}
