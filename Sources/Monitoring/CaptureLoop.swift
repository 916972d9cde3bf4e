import Foundation
import Health
import Logging
import ServiceLifecycle

/// Requests for a capture outside the schedule (push button, control socket).
public struct CaptureTrigger: Sendable {
    public var source: String
    public var note: String?

    public init(source: String, note: String? = nil) {
        self.source = source
        self.note = note
    }
}

/// Runs the capture schedule: both cameras every `capture.interval` plus jitter, and on demand. A reload
/// that changes the schedule moves the next capture at once (counted from the last one). The loop beats the
/// health registry while it waits, so a capture that hangs stops the watchdog.
public struct CaptureLoopService: Service {
    private let monitor: Monitor
    private let health: HealthRegistry
    private let triggers: AsyncStream<CaptureTrigger>
    private let firstCaptureAfter: Duration
    private let random: @Sendable () -> Double
    private let logger: Logger
    /// Called before each cycle with its index (the simulated board's scenario player hooks in here).
    private let beforeCycle: @Sendable (Int) async -> Void

    public static let loopName = "capture"

    public init(monitor: Monitor, health: HealthRegistry, triggers: AsyncStream<CaptureTrigger>, firstCaptureAfter: Duration = .seconds(5),
                logger: Logger, random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
                beforeCycle: @escaping @Sendable (Int) async -> Void = { _ in }) {
        self.monitor = monitor
        self.health = health
        self.triggers = triggers
        self.firstCaptureAfter = firstCaptureAfter
        self.random = random
        self.logger = logger
        self.beforeCycle = beforeCycle
    }

    /// Why the waiting loop woke up.
    private enum Wakeup: Sendable {
        /// A nap ended: beat, and capture if due.
        case timer
        case trigger(CaptureTrigger)
        /// A reload changed the schedule: the next capture is computed again.
        case scheduleChanged
    }

    public func run() async throws {
        // A capture (two cameras, warm-up frames, classification) takes seconds; a minute without a beat is a hang.
        health.register(loop: Self.loopName, period: .seconds(120))
        defer { health.unregister(loop: Self.loopName) }
        let (wakeups, wake) = AsyncStream<Wakeup>.makeStream()
        // Manual triggers and schedule changes arrive on the same stream as the timer's wake-ups, so the loop
        // waits in one place.
        let forward = Task {
            for await trigger in triggers { wake.yield(.trigger(trigger)) }
        }
        defer { forward.cancel() }
        let scheduleChanges = await monitor.scheduleChanges()
        let forwardSchedule = Task {
            for await _ in scheduleChanges { wake.yield(.scheduleChanged) }
        }
        defer { forwardSchedule.cancel() }
        await withGracefulShutdownHandler {
            var cycle = 0
            var due = ContinuousClock.now + firstCaptureAfter
            // When the last scheduled capture ended and its jitter draw: the base a changed schedule counts from.
            var last: (endedAt: ContinuousClock.Instant, unit: Double)?
            var iterator = wakeups.makeAsyncIterator()
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                health.beat(Self.loopName)
                let now = ContinuousClock.now
                if now >= due {
                    await beforeCycle(cycle)
                    _ = await monitor.capture(trigger: "schedule")
                    cycle += 1
                    let schedule = await monitor.currentSettings.schedule
                    let ended = (endedAt: ContinuousClock.now, unit: random())
                    last = ended
                    due = ended.endedAt + .seconds(schedule.delay(unit: ended.unit))
                    continue
                }
                // Sleep until due, but wake at least every 10 s to beat, and at once for a manual trigger or a
                // schedule change.
                let nap = min(due - now, .seconds(10))
                let timer = Task {
                    guard (try? await Task.sleep(for: nap)) != nil else { return }
                    wake.yield(.timer)
                }
                let next = await iterator.next()
                timer.cancel()
                switch next {
                case .trigger(let trigger):
                    logger.info("manual capture requested", metadata: ["source": .string(trigger.source)])
                    await beforeCycle(cycle)
                    _ = await monitor.capture(trigger: trigger.source, note: trigger.note)
                    cycle += 1
                case .scheduleChanged:
                    // Same base and jitter draw, new schedule: an overdue capture runs at the top of the loop, a
                    // longer interval moves it later. Before the first capture, `first_capture_after` still rules.
                    if let last {
                        let schedule = await monitor.currentSettings.schedule
                        due = last.endedAt + .seconds(schedule.delay(unit: last.unit))
                    }
                case .timer, nil:
                    break
                }
            }
        } onGracefulShutdown: {
            wake.yield(.timer)
        }
        wake.finish()
    }
}
