import Synchronization

/// Keeps systemd's start timeout (`TimeoutStartSec=`) from killing a start-up that is slow but progressing,
/// such as the recovery of a large outbox after a crash: each `progress()` asks for `step` more time with
/// `EXTEND_TIMEOUT_USEC=`, at most once per `every`. A start-up that stops calling it (hung) still times out.
public final class StartupTimeoutExtender: Sendable {
    private let notifier: SystemdNotifier
    private let step: Duration
    private let every: Duration
    private let now: @Sendable () -> ContinuousClock.Instant
    private let lastSent = Mutex<ContinuousClock.Instant?>(nil)

    public init(notifier: SystemdNotifier, step: Duration = .seconds(60), every: Duration = .seconds(10),
                now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.notifier = notifier
        self.step = step
        self.every = every
        self.now = now
    }

    /// Reports progress; returns true when an extension was sent.
    @discardableResult
    public func progress() -> Bool {
        let instant = now()
        let due = lastSent.withLock { last -> Bool in
            if let last, instant - last < every { return false }
            last = instant
            return true
        }
        guard due else { return false }
        // Not under systemd, or its socket gone: nothing to extend, and start-up goes on regardless.
        return (try? notifier.extendTimeout(step)) != nil && notifier.socketPath != nil
    }
}
