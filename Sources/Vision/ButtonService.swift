import GPIO
import Logging
import ServiceLifecycle

/// Accepts a button press only when it comes at least `interval` after the last accepted one:
/// mechanical contacts bounce for a few milliseconds and produce a burst of edges per press.
public struct Debouncer: Sendable {
    public let interval: Duration
    private var lastAccepted: Duration?

    public init(interval: Duration) {
        self.interval = interval
    }

    /// True when an edge at `timestamp` (the kernel's monotonic event time) is a new press.
    public mutating func accept(at timestamp: Duration) -> Bool {
        if let last = lastAccepted, timestamp - last < interval, timestamp >= last { return false }
        lastAccepted = timestamp
        return true
    }
}

/// The manual-capture push button: each debounced press runs `trigger` (the same capture the control
/// socket runs). Presses during a capture are absorbed (the capture already answers them).
public struct ButtonService: Service {
    let line: any GPIOLine
    let debounceInterval: Duration
    let pollInterval: Duration
    let trigger: @Sendable () async -> Void
    let logger: Logger

    /// `line` must be requested for falling (or both) edge events.
    public init(line: any GPIOLine, debounce: Duration = .milliseconds(50), pollInterval: Duration = .milliseconds(20),
                logger: Logger = Logger(label: "vision"), trigger: @escaping @Sendable () async -> Void) {
        self.line = line
        debounceInterval = debounce
        self.pollInterval = pollInterval
        self.trigger = trigger
        self.logger = logger
    }

    public func run() async throws {
        defer { line.release() }
        try? await cancelWhenGracefulShutdown {
            var debouncer = Debouncer(interval: debounceInterval)
            var reportedFailure = false
            while !Task.isCancelled {
                // Non-blocking read, then an async sleep: the cooperative thread pool is never held.
                let event: GPIOEvent?
                do {
                    event = try line.waitForEvent(timeout: .zero)
                    reportedFailure = false
                } catch {
                    if !reportedFailure { logger.warning("button line failed", metadata: ["line": .string(line.label), "error": .string("\(error)")]) }
                    reportedFailure = true
                    try await Task.sleep(for: .seconds(1))
                    continue
                }
                guard let event else {
                    try await Task.sleep(for: pollInterval)
                    continue
                }
                guard event.kind == .falling, debouncer.accept(at: event.timestamp) else { continue }
                logger.notice("button pressed: capturing", metadata: ["line": .string(line.label)])
                await trigger()
                // Edges that arrived while capturing belong to presses this capture answered.
                while let pending = try? line.waitForEvent(timeout: .zero) {
                    _ = debouncer.accept(at: pending.timestamp)
                }
            }
        }
    }
}
