import I2C

/// What an emulated chip sees at each transfer: the simulated time, the air, and the injected chip faults.
public struct ChipContext: Sendable {
    /// Simulated monotonic time (from the bus's clock).
    public var now: Duration
    public var air: AirState
    /// The chip reports "no new data" forever (SCD4x, SPS30 data-ready flags stuck at 0).
    public var dataReadyStuck: Bool
    /// The SPS30 fan stopped (status register bit 4).
    public var fanError: Bool
}

/// A byte-level model of one chip on the simulated bus. Implementations are touched only under the bus's
/// lock, one transfer at a time, like a real bus (`SimulatedI2CBus.withChip` is the only other way in), which is
/// why they may be `@unchecked Sendable`.
public protocol ChipEmulator: AnyObject, Sendable {
    var address: I2CAddress { get }
    /// A write transfer; false means the chip did not acknowledge.
    func write(_ bytes: [UInt8], context: ChipContext) -> Bool
    /// A read transfer; nil means the chip did not acknowledge.
    func read(count: Int, context: ChipContext) -> [UInt8]?
    /// SMBus read-I2C-block; by default a register-pointer write followed by a read, as on the wire.
    func smbusReadBlock(register: UInt8, count: Int, context: ChipContext) -> [UInt8]?
    /// SMBus write-byte-data; by default a two-byte write.
    func smbusWriteByte(register: UInt8, value: UInt8, context: ChipContext) -> Bool
}

extension ChipEmulator {
    public func smbusReadBlock(register: UInt8, count: Int, context: ChipContext) -> [UInt8]? {
        guard write([register], context: context) else { return nil }
        return read(count: count, context: context)
    }

    public func smbusWriteByte(register: UInt8, value: UInt8, context: ChipContext) -> Bool {
        write([register, value], context: context)
    }
}
