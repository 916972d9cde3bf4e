import I2C

/// BME280 as a register file: chip id 0x60, factory trimming data, ctrl_hum/ctrl_meas/config, forced and
/// normal mode, status bits, soft reset. Raw ADC values are found by inverting the datasheet's floating-point
/// compensation formulas (not the driver's integer code), so driver and emulator are independent.
public final class BME280Emulator: ChipEmulator, @unchecked Sendable {
    public let address: I2CAddress
    /// Trimming values: the BMP280 datasheet's worked example for T and P, typical BME280 values for H.
    public let trimming = (t1: 27504.0, t2: 26435.0, t3: -1000.0,
                           p1: 36477.0, p2: -10685.0, p3: 3024.0, p4: 2855.0, p5: 140.0, p6: -7.0, p7: 15500.0, p8: -14600.0, p9: 6000.0,
                           h1: 75.0, h2: 362.0, h3: 0.0, h4: 313.0, h5: 50.0, h6: 30.0)
    public var chipID: UInt8 = 0x60
    private var registers = [UInt8](repeating: 0, count: 256)
    private var pointer: UInt8 = 0
    private var measuringUntil: Duration?
    private var pendingData: [UInt8]?

    public init(address: I2CAddress = 0x76) {
        self.address = address
        powerOn()
    }

    private func powerOn() {
        registers = [UInt8](repeating: 0, count: 256)
        let t = trimming
        func le(_ value: Double) -> [UInt8] {
            let word = UInt16(bitPattern: Int16(truncatingIfNeeded: Int(value)))
            return [UInt8(word & 0xFF), UInt8(word >> 8)]
        }
        var block = [t.t1, t.t2, t.t3, t.p1, t.p2, t.p3, t.p4, t.p5, t.p6, t.p7, t.p8, t.p9].flatMap(le)
        block += [0, UInt8(t.h1)]
        registers.replaceSubrange(0x88..<0x88 + 26, with: block)
        let h4 = Int(t.h4), h5 = Int(t.h5)
        let humidityBlock: [UInt8] = le(t.h2) + [UInt8(t.h3), UInt8(truncatingIfNeeded: h4 >> 4),
                                                  UInt8((h4 & 0x0F) | ((h5 & 0x0F) << 4)), UInt8(truncatingIfNeeded: h5 >> 4),
                                                  UInt8(bitPattern: Int8(t.h6))]
        registers.replaceSubrange(0xE1..<0xE1 + 7, with: humidityBlock)
        registers[0xD0] = chipID
        // Data registers hold the "skipped" values until the first measurement.
        registers.replaceSubrange(0xF7...0xFE, with: [0x80, 0x00, 0x00, 0x80, 0x00, 0x00, 0x80, 0x00])
        measuringUntil = nil
        pendingData = nil
    }

    private func settle(_ context: ChipContext) {
        if let until = measuringUntil, context.now >= until, let data = pendingData {
            registers.replaceSubrange(0xF7...0xFE, with: data)
            measuringUntil = nil
            pendingData = nil
            if registers[0xF4] & 0x03 != 0x03 { registers[0xF4] &= ~0x03 }  // forced mode returns to sleep
        }
        // Normal mode keeps converting.
        if registers[0xF4] & 0x03 == 0x03, measuringUntil == nil { startConversion(context) }
        registers[0xF3] = measuringUntil != nil ? 0x08 : 0x00
    }

    private func startConversion(_ context: ChipContext) {
        func osr(_ bits: UInt8) -> Double { bits == 0 ? 0 : Double(1 << (Int(bits) - 1)) }
        let ctrl = registers[0xF4]
        let (osrT, osrP, osrH) = (osr(ctrl >> 5), osr((ctrl >> 2) & 0x07), osr(registers[0xF2] & 0x07))
        let microseconds = 1250 + 2300 * osrT + (osrP > 0 ? 2300 * osrP + 575 : 0) + (osrH > 0 ? 2300 * osrH + 575 : 0)
        measuringUntil = context.now + .microseconds(Int64(microseconds))
        pendingData = rawData(for: context.air)
    }

    public func write(_ bytes: [UInt8], context: ChipContext) -> Bool {
        guard let register = bytes.first else { return false }
        settle(context)
        pointer = register
        // Register writes come in (register, value) pairs.
        var index = 0
        while index + 1 < bytes.count {
            store(bytes[index], bytes[index + 1], context)
            index += 2
        }
        return true
    }

    private func store(_ register: UInt8, _ value: UInt8, _ context: ChipContext) {
        switch register {
        case 0xE0 where value == 0xB6: powerOn()
        case 0xF2, 0xF5: registers[Int(register)] = value
        case 0xF4:
            registers[0xF4] = value
            if value & 0x03 != 0 { startConversion(context) }
        default: break  // read-only
        }
        settle(context)
    }

    public func read(count: Int, context: ChipContext) -> [UInt8]? {
        settle(context)
        return (0..<count).map { registers[min(Int(pointer) + $0, 255)] }
    }

    public func smbusReadBlock(register: UInt8, count: Int, context: ChipContext) -> [UInt8]? {
        settle(context)
        pointer = register
        return read(count: count, context: context)
    }

    public func smbusWriteByte(register: UInt8, value: UInt8, context: ChipContext) -> Bool {
        write([register, value], context: context)
    }

    // MARK: - Inverse compensation (datasheet floating-point formulas)

    private func rawData(for air: AirState) -> [UInt8] {
        let adcT = search(0..<(1 << 20), increasing: true, target: air.temperature) { self.temperature(adc: $0).celsius }
        let tFine = temperature(adc: adcT).tFine
        let adcP = search(0..<(1 << 20), increasing: false, target: air.pressure * 100) { self.pressure(adc: $0, tFine: tFine) }
        let adcH = search(0..<(1 << 16), increasing: true, target: air.humidity) { self.humidity(adc: $0, tFine: tFine) }
        return [UInt8(adcP >> 12), UInt8((adcP >> 4) & 0xFF), UInt8((adcP & 0x0F) << 4),
                UInt8(adcT >> 12), UInt8((adcT >> 4) & 0xFF), UInt8((adcT & 0x0F) << 4),
                UInt8(adcH >> 8), UInt8(adcH & 0xFF)]
    }

    /// The smallest ADC value whose compensated value reaches `target` (binary search on a monotonic formula).
    private func search(_ range: Range<Int>, increasing: Bool, target: Double, _ value: (Int) -> Double) -> Int {
        var low = range.lowerBound, high = range.upperBound - 1
        while low < high {
            let middle = (low + high) / 2
            let reached = increasing ? value(middle) >= target : value(middle) <= target
            if reached { high = middle } else { low = middle + 1 }
        }
        return low
    }

    private func temperature(adc: Int) -> (celsius: Double, tFine: Double) {
        let t = trimming, x = Double(adc)
        let var1 = (x / 16384 - t.t1 / 1024) * t.t2
        let var2 = (x / 131072 - t.t1 / 8192) * (x / 131072 - t.t1 / 8192) * t.t3
        return ((var1 + var2) / 5120, var1 + var2)
    }

    private func pressure(adc: Int, tFine: Double) -> Double {
        let t = trimming
        var var1 = tFine / 2 - 64000
        var var2 = var1 * var1 * t.p6 / 32768
        var2 += var1 * t.p5 * 2
        var2 = var2 / 4 + t.p4 * 65536
        var1 = (t.p3 * var1 * var1 / 524288 + t.p2 * var1) / 524288
        var1 = (1 + var1 / 32768) * t.p1
        var p = 1_048_576 - Double(adc)
        p = (p - var2 / 4096) * 6250 / var1
        let var3 = t.p9 * p * p / 2_147_483_648
        let var4 = p * t.p8 / 32768
        return p + (var3 + var4 + t.p7) / 16
    }

    private func humidity(adc: Int, tFine: Double) -> Double {
        let t = trimming
        var h = tFine - 76800
        h = (Double(adc) - (t.h4 * 64 + t.h5 / 16384 * h)) * (t.h2 / 65536 * (1 + t.h6 / 67_108_864 * h * (1 + t.h3 / 67_108_864 * h)))
        h *= 1 - t.h1 * h / 524_288
        return min(max(h, 0), 100)
    }
}
