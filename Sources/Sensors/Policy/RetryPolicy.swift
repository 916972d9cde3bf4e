/// Exponential backoff for re-probing and re-initialising sensors after faults: `base`, doubled per attempt,
/// capped at `maximum`. Pure and deterministic (no jitter: each sensor has its own schedule anyway).
public struct RetryPolicy: Sendable, Equatable {
    public var base: Duration
    public var maximum: Duration
    /// How many times a transient failure (NACK, CRC) of a start-up command is retried on the spot.
    public var transientAttempts: Int
    /// The pause between on-the-spot retries.
    public var transientDelay: Duration

    public init(base: Duration = .seconds(1), maximum: Duration = .seconds(60), transientAttempts: Int = 2, transientDelay: Duration = .milliseconds(10)) {
        self.base = base
        self.maximum = maximum
        self.transientAttempts = transientAttempts
        self.transientDelay = transientDelay
    }

    /// The wait before attempt number `attempt` (0-based) after a failure.
    public func delay(attempt: Int) -> Duration {
        var delay = base
        for _ in 0..<min(max(attempt, 0), 32) {
            delay = delay * 2
            if delay >= maximum { return maximum }
        }
        return min(delay, maximum)
    }

    /// Whether an error is worth retrying on the spot (the bus hiccuped) rather than after a backoff.
    public static func isTransient(_ error: SensorError) -> Bool {
        error.kind == .crc || error.kind == .notResponding
    }

    /// Runs `body`, retrying transient failures `transientAttempts` times with `transientDelay` between.
    public func retryingTransient<T>(clock: any SensorClock, _ body: () async throws(SensorError) -> T) async throws(SensorError) -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch {
                guard Self.isTransient(error), attempt < transientAttempts else { throw error }
                attempt += 1
                await clock.sleep(for: transientDelay)
            }
        }
    }
}
