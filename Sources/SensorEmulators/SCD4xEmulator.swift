import I2C

/// SCD40/SCD41 at 0x62: periodic measurement every 5 s into a one-slot buffer that a read empties,
/// data-ready status, configuration only while idle, forced recalibration, EEPROM persist counter.
public final class SCD4xEmulator: SensirionEmulator, @unchecked Sendable {
    /// The 48-bit serial it reports.
    public var serial: UInt64 = 0x1A2B_3C4D_5E6F
    /// get_sensor_variant word: 0x1000 SCD41, 0x0000 SCD40.
    public var variantWord: UInt16 = 0x1000
    /// How far the sensor's own CO2 reading is off the air's (what forced recalibration corrects).
    public var co2Bias: Double = 0
    /// Heat the sensor adds to its own temperature reading (the temperature offset removes it).
    public var selfHeating: Double = 4
    public private(set) var periodic = false
    public private(set) var temperatureOffsetWord: UInt16 = 1498  // 4 degC, the factory default
    public private(set) var altitude: UInt16 = 0
    public private(set) var ambientPressure: UInt16?
    public private(set) var automaticSelfCalibration = true
    public private(set) var persistCount = 0
    private var startedAt: Duration = .zero
    private var samplesTaken = 0
    private var buffer: [UInt16]?
    private var everMeasured = false

    public init(address: I2CAddress = 0x62) {
        super.init(address: address)
    }

    private var temperatureOffset: Double { Double(temperatureOffsetWord) * 175 / 65535 }

    private func update(_ context: ChipContext) {
        guard periodic else { return }
        let samples = Int((context.now - startedAt) / .seconds(5))
        guard samples > samplesTaken else { return }
        samplesTaken = samples
        everMeasured = true
        let air = context.air
        let temperature = air.temperature + selfHeating - temperatureOffset
        buffer = [
            Self.ticks(air.co2 + co2Bias),
            Self.ticks((temperature + 45) * 65535 / 175),
            Self.ticks(air.humidity * 65535 / 100),
        ]
    }

    override func execute(_ command: UInt16, arguments: [UInt16], context: ChipContext) -> Execution? {
        update(context)
        let oneArgument = arguments.count == 1
        // In periodic mode the SCD4x only accepts these (datasheet 3.6); everything else is not acknowledged.
        if periodic, ![0xEC05, 0xE4B8, 0x3F86, 0xE000].contains(command) { return nil }
        switch command {
        case 0x21B1:
            periodic = true
            startedAt = context.now
            samplesTaken = 0
            buffer = nil
            return Execution(.zero)
        case 0x3F86:
            periodic = false
            return Execution(.milliseconds(500))
        case 0xEC05:
            // No data: the command is acknowledged but the read that follows is not.
            guard let data = buffer else { return Execution(.milliseconds(1)) }
            buffer = nil
            return Execution(.milliseconds(1), response: data)
        case 0xE4B8:
            let ready: UInt16 = buffer != nil && !context.dataReadyStuck ? 0x8006 : 0x8000
            return Execution(.milliseconds(1), response: [ready])
        case 0x241D where oneArgument:
            temperatureOffsetWord = arguments[0]
            return Execution(.milliseconds(1))
        case 0x2318: return Execution(.milliseconds(1), response: [temperatureOffsetWord])
        case 0x2427 where oneArgument:
            altitude = arguments[0]
            return Execution(.milliseconds(1))
        case 0x2322: return Execution(.milliseconds(1), response: [altitude])
        case 0xE000 where oneArgument:
            guard (700...1200).contains(arguments[0]) else { return nil }
            ambientPressure = arguments[0]
            return Execution(.milliseconds(1))
        case 0x2416 where oneArgument:
            automaticSelfCalibration = arguments[0] != 0
            return Execution(.milliseconds(1))
        case 0x2313: return Execution(.milliseconds(1), response: [automaticSelfCalibration ? 1 : 0])
        case 0x362F where oneArgument:
            // Fails (0xFFFF) when the sensor has not been measuring before the recalibration.
            guard everMeasured else { return Execution(.milliseconds(400), response: [0xFFFF]) }
            let reading = (context.air.co2 + co2Bias).rounded()
            let correction = Double(arguments[0]) - reading
            co2Bias += correction
            return Execution(.milliseconds(400), response: [UInt16(clamping: Int(0x8000 + correction))])
        case 0x3615:
            persistCount += 1
            return Execution(.milliseconds(800))
        case 0x3682:
            return Execution(.milliseconds(1), response: [UInt16(truncatingIfNeeded: serial >> 32), UInt16(truncatingIfNeeded: serial >> 16), UInt16(truncatingIfNeeded: serial)])
        case 0x202F: return Execution(.milliseconds(1), response: [variantWord])
        case 0x3646: return Execution(.milliseconds(30))
        default: return nil
        }
    }
}
