import Syscalls

/// A 7-bit I2C address (0x03...0x77 for ordinary devices).
public typealias I2CAddress = UInt8

/// The seam between sensor drivers and an I2C adapter: the Linux i2c-dev bus on hardware,
/// byte-level chip emulators on the simulated board. No policy lives here: no retries beyond
/// EINTR, no CRC checks; drivers decide what a failure means.
public protocol I2CBus: Sendable {
    /// What logs call this bus: `/dev/i2c-1`, or `sim:i2c-1` on the simulated board.
    var name: String { get }

    /// A plain write transfer (START, address+W, bytes, STOP).
    func write(_ bytes: [UInt8], to address: I2CAddress) throws(I2CError)

    /// A plain read transfer (START, address+R, `count` bytes, STOP).
    func read(count: Int, from address: I2CAddress) throws(I2CError) -> [UInt8]

    /// A write followed by a read with a repeated START, as one combined transfer.
    func writeThenRead(_ bytes: [UInt8], readCount: Int, address: I2CAddress) throws(I2CError) -> [UInt8]

    /// SMBus "read I2C block data": `count` bytes starting at `register` (register-style chips such as the BME280).
    func smbusReadBlock(register: UInt8, count: Int, address: I2CAddress) throws(I2CError) -> [UInt8]

    /// SMBus "write byte data": one register.
    func smbusWriteByte(register: UInt8, value: UInt8, address: I2CAddress) throws(I2CError)
}

/// An I2C failure with its context: bus, address, call and errno.
public struct I2CError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// NACK, absent device or bus timeout (ENXIO, EREMOTEIO, EIO, ETIMEDOUT).
        case notResponding = "not_responding"
        /// EBUSY: a kernel driver owns the address.
        case busy
        /// The bus device node does not exist or cannot be opened.
        case busMissing = "bus_missing"
        /// The adapter cannot do this kind of transfer (no I2C_FUNC_I2C, EOPNOTSUPP).
        case unsupported
        /// A request we should never have made: bad address or length.
        case invalidRequest = "invalid_request"
        /// Anything else the kernel reported.
        case io
    }

    public var kind: Kind
    public var bus: String
    public var address: I2CAddress?
    /// The call that failed, e.g. `ioctl(I2C_RDWR)`.
    public var call: String
    public var errno: Int32?
    /// A hint for the technician, e.g. how to unbind a kernel driver.
    public var hint: String?

    public init(kind: Kind, bus: String, address: I2CAddress?, call: String, errno: Int32? = nil, hint: String? = nil) {
        self.kind = kind
        self.bus = bus
        self.address = address
        self.call = call
        self.errno = errno
        self.hint = hint
    }

    public var description: String {
        var text = "\(bus)"
        if let address { text += " address 0x\(String(address, radix: 16, uppercase: true))" }
        text += ": \(call): \(kind.rawValue)"
        if let errno { text += " (\(Errno.name(errno)))" }
        if let hint { text += "; \(hint)" }
        return text
    }
}
