import I2C

/// SPS30 at 0x69 in float mode: idle and measurement modes, a new measurement every second, data-ready
/// flag, device status register (fan error bit 4), auto-cleaning interval, fan cleaning, serial and product type.
public final class SPS30Emulator: SensirionEmulator, @unchecked Sendable {
    public var serialNumber = "9B3C1F2E4A5D6C7B"
    public private(set) var measuring = false
    public private(set) var autoCleaningInterval: UInt32 = 604_800
    public private(set) var fanCleanings = 0
    private var startedAt: Duration = .zero
    private var samplesTaken = 0
    private var newData = false
    private var latest = [Float](repeating: 0, count: 10)
    private var status: UInt32 = 0

    public init(address: I2CAddress = 0x69) {
        super.init(address: address)
    }

    private func update(_ context: ChipContext) {
        if context.fanError { status |= 1 << 4 }
        guard measuring else { return }
        let samples = Int((context.now - startedAt) / .seconds(1))
        guard samples > samplesTaken else { return }
        samplesTaken = samples
        newData = true
        let air = context.air
        // A stopped fan moves no air: the laser sees (almost) nothing.
        let scale = context.fanError ? 0.0 : 1.0
        latest = (air.particleMass + air.particleNumber).map { Float($0 * scale) } + [Float(air.typicalParticleSize)]
    }

    override func execute(_ command: UInt16, arguments: [UInt16], context: ChipContext) -> Execution? {
        update(context)
        switch command {
        case 0x0010 where arguments == [0x0300]:
            guard !measuring else { return nil }
            measuring = true
            startedAt = context.now
            samplesTaken = 0
            newData = false
            return Execution(.milliseconds(20))
        case 0x0104:
            guard measuring else { return nil }
            measuring = false
            return Execution(.milliseconds(20))
        case 0x0202:
            guard measuring else { return nil }
            return Execution(.zero, response: [newData && !context.dataReadyStuck ? 1 : 0])
        case 0x0300:
            guard measuring else { return nil }
            newData = false
            var words: [UInt16] = []
            for value in latest { words += [UInt16(value.bitPattern >> 16), UInt16(value.bitPattern & 0xFFFF)] }
            return Execution(.zero, response: words)
        case 0x8004 where arguments.isEmpty:
            return Execution(.milliseconds(5), response: [UInt16(autoCleaningInterval >> 16), UInt16(autoCleaningInterval & 0xFFFF)])
        case 0x8004 where arguments.count == 2:
            autoCleaningInterval = UInt32(arguments[0]) << 16 | UInt32(arguments[1])
            return Execution(.milliseconds(20))
        case 0x5607:
            guard measuring else { return nil }
            fanCleanings += 1
            return Execution(.milliseconds(5))
        case 0xD002:
            return Execution(.zero, response: Self.asciiWords("00080000", words: 4))
        case 0xD033:
            return Execution(.zero, response: Self.asciiWords(serialNumber, words: 16))
        case 0xD100:
            return Execution(.zero, response: [0x0203])
        case 0xD206:
            return Execution(.zero, response: [UInt16(status >> 16), UInt16(status & 0xFFFF)])
        case 0xD210:
            status = 0
            return Execution(.milliseconds(5))
        case 0xD304:
            measuring = false
            status = 0
            return Execution(.milliseconds(100))
        default:
            return nil
        }
    }

    static func asciiWords(_ text: String, words: Int) -> [UInt16] {
        var bytes = Array(text.utf8.prefix(words * 2))
        bytes += Array(repeating: 0, count: words * 2 - bytes.count)
        return stride(from: 0, to: bytes.count, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
    }
}
