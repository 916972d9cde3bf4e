#if canImport(Glibc)
import Glibc
#endif
import CGPIOD
import Synchronization

/// A GPIO chip through libgpiod 1.6 (Debian 12). libgpiod 2 changed the API completely
/// (request objects, line configs); it would be a second implementation of `GPIOChip`.
public final class LibgpiodChip: GPIOChip, Sendable {
    public let name: String
    /// The gpiod_chip pointer; libgpiod is not thread-safe, so every call goes through this lock.
    let chip: Mutex<Handle>

    struct Handle: @unchecked Sendable {
        var pointer: OpaquePointer?
    }

    /// Opens a chip by path (`/dev/gpiochip0`), name (`gpiochip0`), number (`0`) or label.
    public init(_ descriptor: String) throws(GPIOError) {
        guard let pointer = gpiod_chip_open_lookup(descriptor) else {
            let code = errno == 0 ? ENOENT : errno
            throw GPIOError(chip: descriptor, line: nil, call: "gpiod_chip_open_lookup", errno: code)
        }
        name = gpiod_chip_name(pointer).map { String(cString: $0) } ?? descriptor
        chip = Mutex(Handle(pointer: pointer))
    }

    deinit {
        chip.withLock { handle in
            if let pointer = handle.pointer { gpiod_chip_close(pointer) }
            handle.pointer = nil
        }
    }

    private func line(_ id: GPIOLineID) throws(GPIOError) -> OpaquePointer {
        let found: OpaquePointer? = chip.withLock { handle in
            guard let pointer = handle.pointer else { return nil }
            switch id {
            case .offset(let offset):
                guard offset >= 0 else { return nil }
                return gpiod_chip_get_line(pointer, UInt32(offset))
            case .name(let lineName):
                return gpiod_chip_find_line(pointer, lineName)
            }
        }
        guard let found else {
            throw GPIOError(kind: .lineMissing, chip: name, line: id.description, call: "gpiod_chip_get_line")
        }
        return found
    }

    public func requestOutput(_ id: GPIOLineID, consumer: String, initialValue: Bool, activeLow: Bool) throws(GPIOError) -> any GPIOLine {
        let pointer = try line(id)
        let flags = activeLow ? Int32(GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW) : 0
        let result = chip.withLock { _ in gpiod_line_request_output_flags(pointer, consumer, flags, initialValue ? 1 : 0) }
        guard result == 0 else { throw GPIOError(chip: name, line: id.description, call: "gpiod_line_request_output", errno: errno) }
        return LibgpiodLine(chip: self, pointer: pointer, label: "\(name):\(id)")
    }

    public func requestEdgeEvents(_ id: GPIOLineID, consumer: String, edge: GPIOEdge, activeLow: Bool, pullUp: Bool) throws(GPIOError) -> any GPIOLine {
        let pointer = try line(id)
        var flags: Int32 = 0
        if activeLow { flags |= Int32(GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW) }
        if pullUp { flags |= Int32(GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP) }
        func request(_ flags: Int32) -> Int32 {
            chip.withLock { _ in
                switch edge {
                case .rising: gpiod_line_request_rising_edge_events_flags(pointer, consumer, flags)
                case .falling: gpiod_line_request_falling_edge_events_flags(pointer, consumer, flags)
                case .both: gpiod_line_request_both_edges_events_flags(pointer, consumer, flags)
                }
            }
        }
        var result = request(flags)
        if result != 0, pullUp, errno == EOPNOTSUPP || errno == EINVAL {
            // Chips without bias control (and kernels before 5.5) refuse the pull-up flag; the
            // button then needs its external pull-up resistor, which most boards fit anyway.
            result = request(flags & ~Int32(GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP))
        }
        guard result == 0 else { throw GPIOError(chip: name, line: id.description, call: "gpiod_line_request_events", errno: errno) }
        return LibgpiodLine(chip: self, pointer: pointer, label: "\(name):\(id)")
    }
}

/// A requested libgpiod line; keeps its chip open while it lives.
final class LibgpiodLine: GPIOLine, Sendable {
    let chip: LibgpiodChip
    let label: String
    private let pointer: Mutex<LibgpiodChip.Handle>

    init(chip: LibgpiodChip, pointer: OpaquePointer, label: String) {
        self.chip = chip
        self.label = label
        self.pointer = Mutex(LibgpiodChip.Handle(pointer: pointer))
    }

    deinit {
        release()
    }

    func setValue(_ on: Bool) throws(GPIOError) {
        let result: Int32? = pointer.withLock { handle in
            handle.pointer.map { line in chip.chip.withLock { _ in gpiod_line_set_value(line, on ? 1 : 0) } }
        }
        guard let result else { throw GPIOError(kind: .released, chip: chip.name, line: label, call: "gpiod_line_set_value") }
        guard result == 0 else { throw GPIOError(chip: chip.name, line: label, call: "gpiod_line_set_value", errno: errno) }
    }

    func waitForEvent(timeout: Duration) throws(GPIOError) -> GPIOEvent? {
        // Wait on the event fd without holding the chip lock (the LEDs keep blinking meanwhile).
        let fd: Int32? = pointer.withLock { handle in handle.pointer.map { gpiod_line_event_get_fd($0) } }
        guard let fd else { throw GPIOError(kind: .released, chip: chip.name, line: label, call: "gpiod_line_event_wait") }
        guard fd >= 0 else { throw GPIOError(kind: .invalidRequest, chip: chip.name, line: label, call: "gpiod_line_event_get_fd", errno: errno) }
        let milliseconds = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN | POLLPRI), revents: 0)
        var ready: Int32
        repeat { ready = poll(&descriptor, 1, max(0, milliseconds)) } while ready < 0 && errno == EINTR
        if ready < 0 { throw GPIOError(chip: chip.name, line: label, call: "poll", errno: errno) }
        if ready == 0 { return nil }
        var event = gpiod_line_event()
        let result: Int32 = pointer.withLock { handle in
            guard let line = handle.pointer else { return -1 }
            return gpiod_line_event_read(line, &event)
        }
        guard result == 0 else { throw GPIOError(chip: chip.name, line: label, call: "gpiod_line_event_read", errno: errno) }
        let kind: GPIOEvent.Kind = event.event_type == Int32(GPIOD_LINE_EVENT_RISING_EDGE) ? .rising : .falling
        let timestamp = Duration.seconds(Int64(event.ts.tv_sec)) + Duration.nanoseconds(Int64(event.ts.tv_nsec))
        return GPIOEvent(kind: kind, timestamp: timestamp)
    }

    func release() {
        pointer.withLock { handle in
            if let line = handle.pointer { chip.chip.withLock { _ in gpiod_line_release(line) } }
            handle.pointer = nil
        }
    }
}
