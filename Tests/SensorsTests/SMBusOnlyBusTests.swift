import Glibc
import I2C
@testable import Sensors
import Settings
import Synchronization
import Testing

/// A model of the kernel's i2c-stub adapter: SMBus only (plain I2C transfers fail with EOPNOTSUPP, which
/// LinuxI2CBus reports as `.unsupported`), a 256-byte register file per configured address, ENXIO elsewhere.
/// This is what the VM test runs against with a BME280 register image loaded by i2cset.
final class StubBus: I2CBus {
    let name = "/dev/i2c-0"
    private let files: Mutex<[I2CAddress: [UInt8]]>

    init(chips: [I2CAddress: [UInt8]]) {
        files = Mutex(chips)
    }

    private func unsupported(_ address: I2CAddress, _ call: String) -> I2CError {
        LinuxI2CBus.mapError(errno: EOPNOTSUPP, bus: name, address: address, call: call)
    }

    func write(_ bytes: [UInt8], to address: I2CAddress) throws(I2CError) { throw unsupported(address, "write") }
    func read(count: Int, from address: I2CAddress) throws(I2CError) -> [UInt8] { throw unsupported(address, "read") }
    func writeThenRead(_ bytes: [UInt8], readCount: Int, address: I2CAddress) throws(I2CError) -> [UInt8] {
        throw unsupported(address, "ioctl(I2C_RDWR)")
    }

    func smbusReadBlock(register: UInt8, count: Int, address: I2CAddress) throws(I2CError) -> [UInt8] {
        let file = files.withLock { $0[address] }
        guard let file else { throw LinuxI2CBus.mapError(errno: ENXIO, bus: name, address: address, call: "i2c_smbus_read_i2c_block_data") }
        return (0..<count).map { file[min(Int(register) + $0, 255)] }
    }

    func smbusWriteByte(register: UInt8, value: UInt8, address: I2CAddress) throws(I2CError) {
        try files.withLock { (files: inout [I2CAddress: [UInt8]]) throws(I2CError) in
            guard files[address] != nil else {
                throw LinuxI2CBus.mapError(errno: ENXIO, bus: name, address: address, call: "i2c_smbus_write_byte_data")
            }
            files[address]?[Int(register)] = value
        }
    }
}

@Suite struct SMBusOnlyBusTests {
    /// A BME280 register image: trimming from the Bosch vectors, chip id 0x60, data burst of vector row 1.
    static func bme280Image() -> [UInt8] {
        var registers = [UInt8](repeating: 0, count: 256)
        var block1: [UInt8] = []
        for value: Int in [27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000] {
            let word = UInt16(truncatingIfNeeded: value)
            block1 += [UInt8(word & 0xFF), UInt8(word >> 8)]
        }
        block1 += [0x00, 75]
        registers.replaceSubrange(0x88..<0x88 + 26, with: block1)
        registers.replaceSubrange(0xE1..<0xE1 + 7, with: [0x6A, 0x01, 0x00, 0x13, 0x29, 0x03, 0x1E])
        registers[0xD0] = 0x60
        registers.replaceSubrange(0xF7...0xFE, with: [0x65, 0x5A, 0xC0, 0x7E, 0xED, 0x00, 0x75, 0x30])
        return registers
    }

    @Test func bme280WorksAndSensirionChipsAreAbsentOnAnSMBusOnlyAdapter() async throws {
        let bus = StubBus(chips: [0x76: Self.bme280Image()])
        let devices = [
            SensorDeviceSettings(id: "env", type: .bme280, bus: "/dev/i2c-0"),
            SensorDeviceSettings(id: "co2", type: .scd4x, bus: "/dev/i2c-0"),
            SensorDeviceSettings(id: "pm", type: .sps30, bus: "/dev/i2c-0"),
        ]
        let readings = SensorReadings()
        let service = SensorService(settings: SensorsSettings(devices: devices), calibration: .init(), openBus: { _ in bus },
                                    readings: readings, clock: VirtualClock())
        let statuses = await service.collectOneRound(timeout: .seconds(5), sequential: true)
        #expect(statuses.map(\.state) == [.ok, .absent, .absent])
        #expect(readings.latest(metric: .temperature)?.value == 25.08)
        #expect(readings.latest(metric: .pressure)?.value == 1006.5328)
        #expect(statuses[1].lastError?.contains("adapter does not support plain I2C transfers") == true)
    }
}
