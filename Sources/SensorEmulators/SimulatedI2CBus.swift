import Foundation
import I2C
import Sensors
import Synchronization

/// An I2C bus whose devices are byte-level chip emulators, with fault injection.
///
/// Bus-level faults (device gone, NACK bursts, corrupted CRC bytes) are applied here, the same way for every
/// chip; chip faults (data-ready stuck, SPS30 fan error) are handed to the emulator in its `ChipContext`.
/// A NACK surfaces as `I2CError.notResponding` with EREMOTEIO, as on i2c-designware and bcm2835.
public final class SimulatedI2CBus: I2CBus {
    /// A fault to inject at one address.
    public enum Fault: Sendable, Equatable {
        /// The next `count` read transfers come back with the first word's CRC byte inverted
        /// (register chips without CRC get a flipped data byte instead).
        case badCRC(count: Int)
        /// The next `count` transfers are not acknowledged.
        case nackBurst(count: Int)
        /// The chip's data-ready flag stays 0 (true) or works again (false).
        case dataReadyStuck(Bool)
        /// The chip stops answering at all (unplugged, brown-out).
        case gone
        /// The chip answers again; it comes back from power-on, so its emulator is reset.
        case back
        /// SPS30 fan error on (true) or off.
        case fanError(Bool)
    }

    private struct Faults {
        var badCRC = 0
        var nacks = 0
        var dataReadyStuck = false
        var gone = false
        var fanError = false
    }

    private struct State {
        var chips: [I2CAddress: any ChipEmulator] = [:]
        var factories: [I2CAddress: @Sendable () -> any ChipEmulator] = [:]
        var faults: [I2CAddress: Faults] = [:]
        var air: @Sendable (Duration) -> AirState = { _ in AirState() }
        var writeLog: [I2CAddress: [[UInt8]]] = [:]
        var transfers = 0
    }

    public let name: String
    public let clock: any SensorClock
    private let state: Mutex<State>

    public init(name: String, clock: any SensorClock) {
        self.name = name
        self.clock = clock
        state = Mutex(State())
    }

    /// Mounts a chip; `make` is also used to rebuild it when it comes `back` after being `gone` (power-on reset).
    public func mount(_ make: @escaping @Sendable () -> any ChipEmulator) {
        state.withLock { state in
            let chip = make()
            state.chips[chip.address] = chip
            state.factories[chip.address] = make
        }
    }

    /// Removes a chip for good.
    public func unmount(address: I2CAddress) {
        state.withLock { state in
            state.chips[address] = nil
            state.factories[address] = nil
        }
    }

    /// Sets a constant atmosphere.
    public func setAir(_ air: AirState) {
        state.withLock { $0.air = { _ in air } }
    }

    /// Sets an atmosphere that changes with simulated time.
    public func setAir(model: @escaping @Sendable (Duration) -> AirState) {
        state.withLock { $0.air = model }
    }

    public func inject(_ fault: Fault, at address: I2CAddress) {
        state.withLock { state in
            var faults = state.faults[address] ?? Faults()
            switch fault {
            case .badCRC(let count): faults.badCRC += count
            case .nackBurst(let count): faults.nacks += count
            case .dataReadyStuck(let on): faults.dataReadyStuck = on
            case .gone: faults.gone = true
            case .back:
                faults.gone = false
                if let make = state.factories[address] { state.chips[address] = make() }
            case .fanError(let on): faults.fanError = on
            }
            state.faults[address] = faults
        }
    }

    /// Runs `body` on the chip at `address` if it is of type `Chip` (to script values or inspect it).
    public func withChip<Chip: ChipEmulator, Result: Sendable>(_ type: Chip.Type, at address: I2CAddress, _ body: (Chip) -> Result) -> Result? {
        state.withLock { state in (state.chips[address] as? Chip).map(body) }
    }

    /// Every write frame sent to `address`, oldest first (the last 256), for tests that check exact frames.
    public func writes(to address: I2CAddress) -> [[UInt8]] {
        state.withLock { $0.writeLog[address] ?? [] }
    }

    /// How many transfers the bus has carried.
    public var transferCount: Int { state.withLock { $0.transfers } }

    // MARK: - I2CBus

    public func write(_ bytes: [UInt8], to address: I2CAddress) throws(I2CError) {
        _ = try transfer(address: address, call: "write", isRead: false) { chip, context in
            chip.write(bytes, context: context) ? [] : nil
        } log: { bytes }
    }

    public func read(count: Int, from address: I2CAddress) throws(I2CError) -> [UInt8] {
        try transfer(address: address, call: "read", isRead: true) { chip, context in
            chip.read(count: count, context: context)
        }
    }

    public func writeThenRead(_ bytes: [UInt8], readCount: Int, address: I2CAddress) throws(I2CError) -> [UInt8] {
        try transfer(address: address, call: "write+read", isRead: true) { chip, context in
            guard chip.write(bytes, context: context) else { return nil }
            return chip.read(count: readCount, context: context)
        } log: { bytes }
    }

    public func smbusReadBlock(register: UInt8, count: Int, address: I2CAddress) throws(I2CError) -> [UInt8] {
        try transfer(address: address, call: "i2c_smbus_read_i2c_block_data", isRead: true) { chip, context in
            chip.smbusReadBlock(register: register, count: count, context: context)
        } log: { [register] }
    }

    public func smbusWriteByte(register: UInt8, value: UInt8, address: I2CAddress) throws(I2CError) {
        _ = try transfer(address: address, call: "i2c_smbus_write_byte_data", isRead: false) { chip, context in
            chip.smbusWriteByte(register: register, value: value, context: context) ? [] : nil
        } log: { [register, value] }
    }

    private func transfer(
        address: I2CAddress, call: String, isRead: Bool,
        _ body: (any ChipEmulator, ChipContext) -> [UInt8]?, log: () -> [UInt8]? = { nil }
    ) throws(I2CError) -> [UInt8] {
        let now = clock.now()
        let result: [UInt8]? = state.withLock { state in
            state.transfers += 1
            if let frame = log() {
                var frames = state.writeLog[address] ?? []
                frames.append(frame)
                if frames.count > 256 { frames.removeFirst(frames.count - 256) }
                state.writeLog[address] = frames
            }
            var faults = state.faults[address] ?? Faults()
            defer { state.faults[address] = faults }
            guard let chip = state.chips[address], !faults.gone else { return nil }
            if faults.nacks > 0 {
                faults.nacks -= 1
                return nil
            }
            let context = ChipContext(now: now, air: state.air(now), dataReadyStuck: faults.dataReadyStuck, fanError: faults.fanError)
            guard var bytes = body(chip, context) else { return nil }
            if isRead, faults.badCRC > 0, !bytes.isEmpty {
                faults.badCRC -= 1
                bytes[min(2, bytes.count - 1)] ^= 0xFF
            }
            return bytes
        }
        guard let result else {
            throw I2CError(kind: .notResponding, bus: name, address: address, call: call, errno: EREMOTEIO,
                           hint: "no acknowledge (simulated)")
        }
        return result
    }
}
