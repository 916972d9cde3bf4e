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

/// Runs the capture schedule: both cameras every `capture.interval` plus jitter, and on demand.
/// The loop beats the health registry while it waits, so a capture that hangs stops the watchdog.
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

    public func run() async throws {
        // A capture (two cameras, warm-up frames, classification) takes seconds; a minute without a beat is a hang.
        health.register(loop: Self.loopName, period: .seconds(120))
        defer { health.unregister(loop: Self.loopName) }
        let (wakeups, wake) = AsyncStream<CaptureTrigger?>.makeStream()
        // Manual triggers arrive on the same stream as the timer's wake-ups, so the loop waits in one place.
        let forward = Task {
            for await trigger in triggers { wake.yield(trigger) }
        }
        defer { forward.cancel() }
        await withGracefulShutdownHandler {
            var cycle = 0
            var due = ContinuousClock.now + firstCaptureAfter
            var iterator = wakeups.makeAsyncIterator()
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                health.beat(Self.loopName)
                let now = ContinuousClock.now
                if now >= due {
                    await beforeCycle(cycle)
                    _ = await monitor.capture(trigger: "schedule")
                    cycle += 1
                    let schedule = await monitor.currentSettings.schedule
                    let wait = schedule.interval + schedule.jitter * random()
                    due = ContinuousClock.now + .milliseconds(Int64(wait * 1000))
                    continue
                }
                // Sleep until due, but wake at least every 10 s to beat, and at once for a manual trigger.
                let nap = min(due - now, .seconds(10))
                let timer = Task {
                    try? await Task.sleep(for: nap)
                    wake.yield(nil)
                }
                let next = await iterator.next()
                timer.cancel()
                if let wakeup = next, let trigger = wakeup {
                    logger.info("manual capture requested", metadata: ["source": .string(trigger.source)])
                    await beforeCycle(cycle)
                    _ = await monitor.capture(trigger: trigger.source, note: trigger.note)
                    cycle += 1
                }
            }
        } onGracefulShutdown: {
            wake.yield(nil)
        }
        wake.finish()
    }
}
