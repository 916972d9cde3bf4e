import GPIO
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// A GPIO chip in memory, for tests and the simulated board. It records every value written to
/// every output line with a timestamp (so tests check LED sequencing, including error paths), and
/// lets tests inject edges on input lines (a button press, contact bounce).
/// Requesting a line twice fails with EBUSY, as the kernel does.
public final class InMemoryGPIOChip: GPIOChip, Sendable {
    /// One value written to an output line (request time included).
    public struct ValueChange: Sendable, Equatable {
        public var offset: Int
        public var value: Bool
        /// Time since the chip was created (or the injected clock's reading).
        public var at: Duration
    }

    struct State {
        var requested: Set<Int> = []
        var values: [Int: Bool] = [:]
        var history: [ValueChange] = []
        var pendingEvents: [Int: [GPIOEvent]] = [:]
        var failingOffsets: Set<Int> = []
    }

    public let name: String
    /// Line names, index = offset (as a device tree's gpio-line-names).
    public let lineNames: [String]
    public let lineCount: Int
    private let clock: @Sendable () -> Duration
    let state = Mutex(State())
    /// Broadcast when an edge is queued: a waiter blocks as in poll(2) instead of spinning (issue 20).
    let arrivals = NSCondition()

    /// `now` defaults to a monotonic clock starting at zero when the chip is created.
    public init(name: String = "sim:gpiochip0", lineCount: Int = 32, lineNames: [String] = [], now: (@Sendable () -> Duration)? = nil) {
        self.name = name
        self.lineCount = max(lineCount, lineNames.count)
        self.lineNames = lineNames
        if let now {
            clock = now
        } else {
            let start = ContinuousClock.now
            clock = { ContinuousClock.now - start }
        }
    }

    func offset(of id: GPIOLineID) throws(GPIOError) -> Int {
        switch id {
        case .offset(let offset) where (0..<lineCount).contains(offset):
            return offset
        case .name(let lineName):
            if let index = lineNames.firstIndex(of: lineName) { return index }
        default:
            break
        }
        throw GPIOError(kind: .lineMissing, chip: name, line: id.description, call: "gpiod_chip_get_line")
    }

    public func requestOutput(_ id: GPIOLineID, consumer: String, initialValue: Bool, activeLow: Bool) throws(GPIOError) -> any GPIOLine {
        let offset = try offset(of: id)
        let now = clock()
        try state.withLock { (s) throws(GPIOError) in
            guard !s.requested.contains(offset) else { throw GPIOError(kind: .busy, chip: name, line: id.description, call: "gpiod_line_request_output", errno: EBUSY) }
            s.requested.insert(offset)
            s.values[offset] = initialValue
            s.history.append(ValueChange(offset: offset, value: initialValue, at: now))
        }
        return InMemoryLine(chip: self, offset: offset, isOutput: true, label: "\(name):\(id)")
    }

    public func requestEdgeEvents(_ id: GPIOLineID, consumer: String, edge: GPIOEdge, activeLow: Bool, pullUp: Bool) throws(GPIOError) -> any GPIOLine {
        let offset = try offset(of: id)
        try state.withLock { (s) throws(GPIOError) in
            guard !s.requested.contains(offset) else { throw GPIOError(kind: .busy, chip: name, line: id.description, call: "gpiod_line_request_events", errno: EBUSY) }
            s.requested.insert(offset)
        }
        return InMemoryLine(chip: self, offset: offset, isOutput: false, label: "\(name):\(id)")
    }

    // MARK: - Test hands

    /// Queues an edge on an input line; timestamp defaults to now.
    public func injectEdge(_ kind: GPIOEvent.Kind, on id: GPIOLineID, at timestamp: Duration? = nil) {
        guard let offset = try? offset(of: id) else { return }
        let time = timestamp ?? clock()
        arrivals.lock()
        state.withLock { $0.pendingEvents[offset, default: []].append(GPIOEvent(kind: kind, timestamp: time)) }
        arrivals.broadcast()
        arrivals.unlock()
    }

    /// Makes every write to the line fail with EIO (a line whose driver went away).
    public func setFailing(_ id: GPIOLineID, _ failing: Bool) {
        guard let offset = try? offset(of: id) else { return }
        state.withLock { s in
            if failing { s.failingOffsets.insert(offset) } else { s.failingOffsets.remove(offset) }
        }
    }

    /// Current logical value of a line (nil when never driven).
    public func value(of id: GPIOLineID) -> Bool? {
        guard let offset = try? offset(of: id) else { return nil }
        return state.withLock { $0.values[offset] }
    }

    /// Every value written to the line, oldest first.
    public func history(of id: GPIOLineID) -> [ValueChange] {
        guard let offset = try? offset(of: id) else { return [] }
        return state.withLock { $0.history.filter { $0.offset == offset } }
    }

    /// Every value written to any line, oldest first.
    public var fullHistory: [ValueChange] { state.withLock { $0.history } }

    public func isRequested(_ id: GPIOLineID) -> Bool {
        guard let offset = try? offset(of: id) else { return false }
        return state.withLock { $0.requested.contains(offset) }
    }

    var now: Duration { clock() }
}

final class InMemoryLine: GPIOLine, Sendable {
    let chip: InMemoryGPIOChip
    let offset: Int
    let isOutput: Bool
    let label: String
    private let released = Mutex(false)

    init(chip: InMemoryGPIOChip, offset: Int, isOutput: Bool, label: String) {
        self.chip = chip
        self.offset = offset
        self.isOutput = isOutput
        self.label = label
    }

    func setValue(_ on: Bool) throws(GPIOError) {
        guard !released.withLock({ $0 }) else { throw GPIOError(kind: .released, chip: chip.name, line: label, call: "gpiod_line_set_value") }
        guard isOutput else { throw GPIOError(kind: .invalidRequest, chip: chip.name, line: label, call: "gpiod_line_set_value", errno: EPERM) }
        let now = chip.now
        try chip.state.withLock { (s) throws(GPIOError) in
            guard !s.failingOffsets.contains(offset) else {
                throw GPIOError(kind: .io, chip: chip.name, line: label, call: "gpiod_line_set_value", errno: EIO)
            }
            s.values[offset] = on
            s.history.append(InMemoryGPIOChip.ValueChange(offset: offset, value: on, at: now))
        }
    }

    func waitForEvent(timeout: Duration) throws(GPIOError) -> GPIOEvent? {
        guard !released.withLock({ $0 }) else { throw GPIOError(kind: .released, chip: chip.name, line: label, call: "gpiod_line_event_wait") }
        guard !isOutput else { throw GPIOError(kind: .invalidRequest, chip: chip.name, line: label, call: "gpiod_line_event_wait", errno: EPERM) }
        let deadline = Date(timeIntervalSinceNow: Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
        // Checked and waited under `arrivals`, so an edge queued in between is not missed.
        chip.arrivals.lock()
        defer { chip.arrivals.unlock() }
        while true {
            let event: GPIOEvent? = chip.state.withLock { s in
                guard var queue = s.pendingEvents[offset], !queue.isEmpty else { return nil }
                let first = queue.removeFirst()
                s.pendingEvents[offset] = queue
                return first
            }
            if let event { return event }
            if Date() >= deadline { return nil }
            _ = chip.arrivals.wait(until: deadline)
        }
    }

    func release() {
        let wasReleased = released.withLock { value in
            defer { value = true }
            return value
        }
        guard !wasReleased else { return }
        chip.state.withLock { _ = $0.requested.remove(offset) }
    }
}
