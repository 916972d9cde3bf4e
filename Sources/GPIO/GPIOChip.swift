#if canImport(Glibc)
import Glibc
#endif
import Syscalls

/// A line on a chip: by offset (`17`) or by the name the device tree gives it (`LED_STATUS`).
public enum GPIOLineID: Sendable, Hashable, CustomStringConvertible {
    case offset(Int)
    case name(String)

    public var description: String {
        switch self {
        case .offset(let offset): "\(offset)"
        case .name(let name): name
        }
    }
}

/// Which edges of an input line produce events.
public enum GPIOEdge: String, Sendable {
    case rising, falling, both
}

/// An edge seen on an input line, with the kernel's monotonic timestamp.
public struct GPIOEvent: Sendable, Equatable {
    public enum Kind: String, Sendable { case rising, falling }
    public var kind: Kind
    /// CLOCK_MONOTONIC time of the edge (debouncing compares these).
    public var timestamp: Duration

    public init(kind: Kind, timestamp: Duration) {
        self.kind = kind
        self.timestamp = timestamp
    }
}

/// The seam between LED/button policy and a GPIO controller: libgpiod 1.6 on hardware, an
/// in-memory chip in tests and on the simulated board. A libgpiod 2 backend implements the same.
public protocol GPIOChip: Sendable {
    /// What logs call the chip: `gpiochip0`, or `sim:gpiochip0`.
    var name: String { get }
    /// Requests `line` as an output driven to `initialValue` (logical: active-low lines are inverted).
    func requestOutput(_ line: GPIOLineID, consumer: String, initialValue: Bool, activeLow: Bool) throws(GPIOError) -> any GPIOLine
    /// Requests `line` as an input that reports `edge` events; `pullUp` enables the internal bias
    /// (buttons wired to ground).
    func requestEdgeEvents(_ line: GPIOLineID, consumer: String, edge: GPIOEdge, activeLow: Bool, pullUp: Bool) throws(GPIOError) -> any GPIOLine
}

/// A requested line. Calls after `release()` fail with `.released`.
public protocol GPIOLine: Sendable {
    /// `chip:line` for logs.
    var label: String { get }
    /// Drives an output line (logical value).
    func setValue(_ on: Bool) throws(GPIOError)
    /// Waits up to `timeout` for one edge event on an input line; nil when none came.
    func waitForEvent(timeout: Duration) throws(GPIOError) -> GPIOEvent?
    /// Gives the line back to the kernel (outputs keep their last value until then).
    func release()
}

/// A GPIO failure with its context.
public struct GPIOError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// No such chip (ENOENT).
        case chipMissing = "chip_missing"
        /// No line with that offset or name on the chip.
        case lineMissing = "line_missing"
        /// Another consumer holds the line (EBUSY).
        case busy
        /// EACCES/EPERM: the service user lacks access to /dev/gpiochip*.
        case permission
        /// The line was released.
        case released
        /// The operation does not fit the line (set on an input, wait on an output).
        case invalidRequest = "invalid_request"
        /// Anything else the kernel reported.
        case io
    }

    public var kind: Kind
    public var chip: String
    public var line: String?
    public var call: String
    public var errno: Int32?

    public init(kind: Kind, chip: String, line: String?, call: String, errno: Int32? = nil) {
        self.kind = kind
        self.chip = chip
        self.line = line
        self.call = call
        self.errno = errno
    }

    /// Classifies an errno from `call`.
    public init(chip: String, line: String?, call: String, errno code: Int32) {
        let kind: Kind = switch code {
        case ENOENT, ENODEV: .chipMissing
        case EBUSY: .busy
        case EACCES, EPERM: .permission
        case EINVAL: .invalidRequest
        default: .io
        }
        self.init(kind: kind, chip: chip, line: line, call: call, errno: code)
    }

    public var description: String {
        var text = chip
        if let line { text += " line \(line)" }
        text += ": \(call): \(kind.rawValue)"
        if let errno { text += " (\(Errno.name(errno)))" }
        return text
    }
}
