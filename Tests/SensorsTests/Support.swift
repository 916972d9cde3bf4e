import I2C
import SensorEmulators
import Sensors
import Synchronization

/// A bus that replays hand-written frames: every read returns the next queued byte string, every write is
/// recorded. Used to test drivers against frames computed from the datasheets, independently of the emulators.
final class ScriptedBus: I2CBus {
    private struct State { var reads: [[UInt8]] = []; var writes: [[UInt8]] = [] }
    private let state = Mutex(State())
    let name = "scripted"

    init(reads: [[UInt8]] = []) {
        state.withLock { $0.reads = reads }
    }

    var writes: [[UInt8]] { state.withLock { $0.writes } }

    func write(_ bytes: [UInt8], to address: I2CAddress) throws(I2CError) {
        state.withLock { $0.writes.append(bytes) }
    }

    func read(count: Int, from address: I2CAddress) throws(I2CError) -> [UInt8] {
        let next: [UInt8]? = state.withLock { $0.reads.isEmpty ? nil : $0.reads.removeFirst() }
        guard let next else { throw I2CError(kind: .notResponding, bus: name, address: address, call: "read") }
        return next
    }

    func writeThenRead(_ bytes: [UInt8], readCount: Int, address: I2CAddress) throws(I2CError) -> [UInt8] {
        try write(bytes, to: address)
        return try read(count: readCount, from: address)
    }

    func smbusReadBlock(register: UInt8, count: Int, address: I2CAddress) throws(I2CError) -> [UInt8] {
        try writeThenRead([register], readCount: count, address: address)
    }

    func smbusWriteByte(register: UInt8, value: UInt8, address: I2CAddress) throws(I2CError) {
        try write([register, value], to: address)
    }
}

/// A simulated bus on a virtual clock with the given chips mounted.
func simulatedBus(_ chips: [@Sendable () -> any ChipEmulator], air: AirState = AirState()) -> (SimulatedI2CBus, VirtualClock) {
    let clock = VirtualClock()
    let bus = SimulatedI2CBus(name: "sim-test", clock: clock)
    for chip in chips { bus.mount(chip) }
    bus.setAir(air)
    return (bus, clock)
}

/// Asserts that `body` throws a `SensorError` of `kind`.
func expectSensorError(_ kind: SensorError.Kind, _ body: () async throws -> Void) async -> Bool {
    do {
        try await body()
        return false
    } catch {
        return (error as? SensorError)?.kind == kind
    }
}
