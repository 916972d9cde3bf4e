import Synchronization

/// A level-triggered wake-up flag: `signal()` sets it, `wait(upTo:)` returns as soon as it is set (and clears it)
/// or when the time is up. Polls every 20 ms: cheap, and simpler than juggling continuations with timeouts.
public final class Wakeup: Sendable {
    private let flag = Mutex(false)

    public init() {}

    public func signal() { flag.withLock { $0 = true } }

    /// Returns true when woken by a signal, false on timeout or cancellation.
    @discardableResult
    public func wait(upTo timeout: Duration) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while !Task.isCancelled {
            if flag.withLock({ value in defer { value = false }; return value }) { return true }
            let left = deadline - clock.now
            if left <= .zero { return false }
            try? await Task.sleep(for: min(left, .milliseconds(20)))
        }
        return false
    }
}
