import Foundation
import GPIO
import Logging
import ServiceLifecycle
import Synchronization

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
///
/// A dedicated thread blocks in the line's event wait (poll(2) on the event fd): a press wakes it at once
/// and an idle button costs one wakeup per `waitSlice`, where polling every 20 ms from an async loop cost
/// fifty timer wakeups a second (issue 20). The cooperative thread pool is never held.
public struct ButtonService: Service {
    let line: any GPIOLine
    let debounceInterval: Duration
    let waitSlice: Duration
    let trigger: @Sendable () async -> Void
    let logger: Logger

    /// `line` must be requested for falling (or both) edge events. `waitSlice` bounds one blocking wait, and
    /// so how long stopping the service takes.
    public init(line: any GPIOLine, debounce: Duration = .milliseconds(50), waitSlice: Duration = .seconds(1),
                logger: Logger = Logger(label: "vision"), trigger: @escaping @Sendable () async -> Void) {
        self.line = line
        debounceInterval = debounce
        self.waitSlice = waitSlice
        self.trigger = trigger
        self.logger = logger
    }

    public func run() async throws {
        defer { line.release() }
        let watch = EdgeWatch(line: line, debounce: debounceInterval, waitSlice: waitSlice, logger: logger)
        let (presses, sink) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let watcher = Task.detached { await watch.run(presses: sink) }
        await cancelWhenGracefulShutdown { [trigger, logger, line] in
            for await _ in presses {
                logger.notice("button pressed: capturing", metadata: ["line": .string(line.label)])
                await trigger()
                watch.captureDone()
            }
        }
        watch.stop()
        // The line is released only once the thread has left its wait.
        await watcher.value
    }
}

/// The blocking side of the button: reads edges on its own thread, debounces them, and reports a press
/// (at most one outstanding); edges that arrive while a capture runs belong to presses it answers.
final class EdgeWatch: Sendable {
    private struct State {
        var debouncer: Debouncer
        var capturing = false
        var stopped = false
    }

    private let line: any GPIOLine
    private let waitSlice: Duration
    private let logger: Logger
    private let state: Mutex<State>

    init(line: any GPIOLine, debounce: Duration, waitSlice: Duration, logger: Logger) {
        self.line = line
        self.waitSlice = waitSlice
        self.logger = logger
        state = Mutex(State(debouncer: Debouncer(interval: debounce)))
    }

    func stop() { state.withLock { $0.stopped = true } }
    func captureDone() { state.withLock { $0.capturing = false } }

    /// Runs the thread until `stop()`; returns once it has ended.
    func run(presses: AsyncStream<Void>.Continuation) async {
        await withCheckedContinuation { (ended: CheckedContinuation<Void, Never>) in
            let thread = Thread { [self] in
                loop(presses: presses)
                presses.finish()
                ended.resume()
            }
            thread.name = "button"
            thread.start()
        }
    }

    private func loop(presses: AsyncStream<Void>.Continuation) {
        var reportedFailure = false
        while !state.withLock({ $0.stopped }) {
            let event: GPIOEvent?
            do {
                event = try line.waitForEvent(timeout: waitSlice)
                reportedFailure = false
            } catch {
                if !reportedFailure { logger.warning("button line failed", metadata: ["line": .string(line.label), "error": .string("\(error)")]) }
                reportedFailure = true
                Thread.sleep(forTimeInterval: 1)
                continue
            }
            guard let event else { continue }
            let pressed = state.withLock { state in
                if state.capturing {
                    _ = state.debouncer.accept(at: event.timestamp)
                    return false
                }
                guard event.kind == .falling, state.debouncer.accept(at: event.timestamp) else { return false }
                state.capturing = true
                return true
            }
            if pressed { presses.yield() }
        }
    }
}
