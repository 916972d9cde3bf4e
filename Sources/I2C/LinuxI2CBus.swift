#if canImport(Glibc)
import CI2C
import Glibc
import Synchronization
import Syscalls

/// An I2C adapter through the Linux i2c-dev character device (`/dev/i2c-N`).
///
/// Plain transfers go through `I2C_RDWR` when the adapter can do raw I2C (`I2C_FUNC_I2C`); SMBus-only
/// adapters (i2c-stub, some PMIC buses) get `I2C_SLAVE` + read()/write() instead, which the kernel turns
/// into an i2c_transfer that fails with EOPNOTSUPP: reported as `.unsupported` with a plain sentence.
/// Register-style chips (BME280) use libi2c's SMBus helpers, which every adapter here supports.
/// No retries beyond EINTR: the sensor layer owns retry policy.
public final class LinuxI2CBus: I2CBus {
    public let name: String
    /// The adapter's I2C_FUNCS bit mask, read at open.
    public let functionality: UInt
    // One descriptor per bus; I2C_SLAVE state is per descriptor, so transfers are serialised.
    private let handle: Mutex<Int32>

    /// True when the adapter does raw I2C messages (I2C_RDWR, repeated START).
    public var supportsPlainI2C: Bool { functionality & UInt(I2C_FUNC_I2C) != 0 }

    /// Opens the bus and reads its functionality; a missing node is `.busMissing`.
    public init(path: String) throws(I2CError) {
        name = path
        let fd: Int32
        do {
            fd = try FileIO.open(path, flags: O_RDWR)
        } catch {
            let hint: String
            switch error.errno {
            case ENOENT: hint = "no such bus; load i2c-dev (modprobe i2c-dev) and check the bus number (i2cdetect -l)"
            case EACCES, EPERM: hint = "permission denied; the daemon user needs the i2c group"
            default: hint = "cannot open the bus device"
            }
            throw I2CError(kind: .busMissing, bus: path, address: nil, call: "open", errno: error.errno, hint: hint)
        }
        var funcs: UInt = 0
        let result = withUnsafeMutablePointer(to: &funcs) { pointer in
            remotair_i2c_ioctl_ptr(fd, UInt(I2C_FUNCS), pointer)
        }
        if result < 0 {
            let code = currentErrno()
            FileIO.close(fd)
            throw I2CError(kind: .busMissing, bus: path, address: nil, call: "ioctl(I2C_FUNCS)", errno: code,
                           hint: "not an i2c-dev device")
        }
        functionality = funcs
        handle = Mutex(fd)
    }

    deinit {
        handle.withLock { FileIO.close($0) }
    }

    public func write(_ bytes: [UInt8], to address: I2CAddress) throws(I2CError) {
        try check(address: address, length: bytes.count, call: "write")
        if supportsPlainI2C {
            var buffer = bytes
            try transfer(address: address, call: "ioctl(I2C_RDWR write)") { fd throws(I2CError) in
                try buffer.withUnsafeMutableBufferPointer { (pointer) throws(I2CError) in
                    var messages = [i2c_msg(addr: UInt16(address), flags: 0, len: UInt16(pointer.count), buf: pointer.baseAddress)]
                    try rdwr(fd, &messages, address: address, call: "ioctl(I2C_RDWR write)")
                }
            }
        } else {
            try transfer(address: address, call: "write") { fd throws(I2CError) in
                try selectSlave(fd, address)
                let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                if written < 0 { throw error(currentErrno(), address: address, call: "write") }
                if written != bytes.count { throw I2CError(kind: .io, bus: name, address: address, call: "write", hint: "short write") }
            }
        }
    }

    public func read(count: Int, from address: I2CAddress) throws(I2CError) -> [UInt8] {
        try check(address: address, length: count, call: "read")
        var buffer = [UInt8](repeating: 0, count: count)
        if supportsPlainI2C {
            try transfer(address: address, call: "ioctl(I2C_RDWR read)") { fd throws(I2CError) in
                try buffer.withUnsafeMutableBufferPointer { (pointer) throws(I2CError) in
                    var messages = [i2c_msg(addr: UInt16(address), flags: UInt16(I2C_M_RD), len: UInt16(count), buf: pointer.baseAddress)]
                    try rdwr(fd, &messages, address: address, call: "ioctl(I2C_RDWR read)")
                }
            }
        } else {
            try transfer(address: address, call: "read") { fd throws(I2CError) in
                try selectSlave(fd, address)
                let got = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if got < 0 { throw error(currentErrno(), address: address, call: "read") }
                if got != count { throw I2CError(kind: .io, bus: name, address: address, call: "read", hint: "short read (\(got) of \(count))") }
            }
        }
        return buffer
    }

    public func writeThenRead(_ bytes: [UInt8], readCount: Int, address: I2CAddress) throws(I2CError) -> [UInt8] {
        try check(address: address, length: max(bytes.count, readCount), call: "writeThenRead")
        guard supportsPlainI2C else {
            throw I2CError(kind: .unsupported, bus: name, address: address, call: "ioctl(I2C_RDWR)",
                           hint: "adapter does not support plain I2C transfers (SMBus only)")
        }
        var output = bytes
        var input = [UInt8](repeating: 0, count: readCount)
        try transfer(address: address, call: "ioctl(I2C_RDWR write+read)") { fd throws(I2CError) in
            try output.withUnsafeMutableBufferPointer { (out) throws(I2CError) in
                try input.withUnsafeMutableBufferPointer { (into) throws(I2CError) in
                    var messages = [
                        i2c_msg(addr: UInt16(address), flags: 0, len: UInt16(out.count), buf: out.baseAddress),
                        i2c_msg(addr: UInt16(address), flags: UInt16(I2C_M_RD), len: UInt16(into.count), buf: into.baseAddress),
                    ]
                    try rdwr(fd, &messages, address: address, call: "ioctl(I2C_RDWR write+read)")
                }
            }
        }
        return input
    }

    public func smbusReadBlock(register: UInt8, count: Int, address: I2CAddress) throws(I2CError) -> [UInt8] {
        try check(address: address, length: count, call: "i2c_smbus_read_i2c_block_data")
        var result: [UInt8] = []
        result.reserveCapacity(count)
        try transfer(address: address, call: "i2c_smbus_read_i2c_block_data") { fd throws(I2CError) in
            try selectSlave(fd, address)
            // SMBus blocks carry at most 32 bytes: longer reads are split at consecutive registers.
            var offset = 0
            while offset < count {
                let chunk = min(32, count - offset)
                var buffer = [UInt8](repeating: 0, count: chunk)
                let got = try smbusCall("i2c_smbus_read_i2c_block_data", address: address) {
                    buffer.withUnsafeMutableBufferPointer {
                        i2c_smbus_read_i2c_block_data(fd, register &+ UInt8(offset), UInt8(chunk), $0.baseAddress)
                    }
                }
                guard Int(got) == chunk else {
                    throw I2CError(kind: .io, bus: name, address: address, call: "i2c_smbus_read_i2c_block_data",
                                   hint: "short block (\(got) of \(chunk) bytes)")
                }
                result += buffer
                offset += chunk
            }
        }
        return result
    }

    public func smbusWriteByte(register: UInt8, value: UInt8, address: I2CAddress) throws(I2CError) {
        try check(address: address, length: 1, call: "i2c_smbus_write_byte_data")
        try transfer(address: address, call: "i2c_smbus_write_byte_data") { fd throws(I2CError) in
            try selectSlave(fd, address)
            _ = try smbusCall("i2c_smbus_write_byte_data", address: address) { i2c_smbus_write_byte_data(fd, register, value) }
        }
    }

    // MARK: - Plumbing

    private func check(address: I2CAddress, length: Int, call: String) throws(I2CError) {
        guard address <= 0x7F else {
            throw I2CError(kind: .invalidRequest, bus: name, address: address, call: call, hint: "not a 7-bit address")
        }
        guard length > 0, length <= 8192 else {
            throw I2CError(kind: .invalidRequest, bus: name, address: address, call: call, hint: "transfer length \(length) outside 1...8192")
        }
    }

    private func transfer(address: I2CAddress, call: String, _ body: (Int32) throws(I2CError) -> Void) throws(I2CError) {
        try handle.withLock { (fd: inout Int32) throws(I2CError) in try body(fd) }
    }

    // Called with the lock held (from `transfer`). Set before every transfer: the ioctl is cheap and no
    // cached address can go stale after a failure.
    private func selectSlave(_ fd: Int32, _ address: I2CAddress) throws(I2CError) {
        while remotair_i2c_ioctl_value(fd, UInt(I2C_SLAVE), UInt(address)) < 0 {
            let code = currentErrno()
            if code == EINTR { continue }
            throw error(code, address: address, call: "ioctl(I2C_SLAVE)")
        }
    }

    private func rdwr(_ fd: Int32, _ messages: inout [i2c_msg], address: I2CAddress, call: String) throws(I2CError) {
        let count = UInt32(messages.count)
        try messages.withUnsafeMutableBufferPointer { (pointer) throws(I2CError) in
            var request = i2c_rdwr_ioctl_data(msgs: pointer.baseAddress, nmsgs: count)
            while remotair_i2c_ioctl_ptr(fd, UInt(I2C_RDWR), &request) < 0 {
                let code = currentErrno()
                if code == EINTR { continue }
                throw error(code, address: address, call: call)
            }
        }
    }

    private func smbusCall(_ call: String, address: I2CAddress, _ body: () -> Int32) throws(I2CError) -> Int32 {
        while true {
            let result = body()
            if result >= 0 { return result }
            // libi2c returns -errno rather than setting errno.
            let code = -result
            if code == EINTR { continue }
            throw error(code, address: address, call: call)
        }
    }

    private func error(_ code: Int32, address: I2CAddress, call: String) -> I2CError {
        LinuxI2CBus.mapError(errno: code, bus: name, address: address, call: call)
    }

    /// Maps an errno from an i2c-dev call to a typed error with a hint for the technician.
    public static func mapError(errno code: Int32, bus: String, address: I2CAddress?, call: String) -> I2CError {
        let hex = address.map { "0x" + String($0, radix: 16) } ?? "?"
        switch code {
        case ENXIO, EREMOTEIO, EIO, ETIMEDOUT:
            return I2CError(kind: .notResponding, bus: bus, address: address, call: call, errno: code,
                            hint: "no acknowledge from \(hex): device absent, unpowered or busy measuring")
        case EBUSY:
            let busNumber = bus.hasPrefix("/dev/i2c-") ? String(bus.dropFirst("/dev/i2c-".count)) : "N"
            let digits = String(address ?? 0, radix: 16)
            let device = "\(busNumber)-" + String(repeating: "0", count: 4 - digits.count) + digits
            return I2CError(kind: .busy, bus: bus, address: address, call: call, errno: code,
                            hint: "a kernel driver owns \(hex); unbind it, e.g. echo \(device) > /sys/bus/i2c/drivers/<driver>/unbind (ls /sys/bus/i2c/devices/\(device)/driver)")
        case EOPNOTSUPP:
            return I2CError(kind: .unsupported, bus: bus, address: address, call: call, errno: code,
                            hint: "adapter does not support plain I2C transfers (SMBus only)")
        case ENODEV where address != nil:
            // ENODEV on a transfer: the adapter went away, or (i2c-stub, seen in the VM test) no chip sits at
            // the address. Both are retried by reopening; the hint names both.
            return I2CError(kind: .busMissing, bus: bus, address: address, call: call, errno: code,
                            hint: "the bus adapter went away, or the adapter reports no device at \(hex)")
        case ENODEV, ENOENT:
            return I2CError(kind: .busMissing, bus: bus, address: address, call: call, errno: code, hint: "the bus adapter went away")
        case EINVAL, EMSGSIZE:
            return I2CError(kind: .invalidRequest, bus: bus, address: address, call: call, errno: code)
        default:
            return I2CError(kind: .io, bus: bus, address: address, call: call, errno: code)
        }
    }
}
#endif
