/// The per-sensor state machine: absent, warming, ok, stale, faulted, with counters. Pure: the runner feeds it
/// events with the time, and it answers whether to keep sampling or to restart the sensor after a backoff.
public struct SensorHealthTracker: Sendable {
    public enum Next: Sendable, Equatable {
        case keepSampling
        /// Stop using the chip, wait, then probe and initialise it again.
        case restart(after: Duration)
    }

    public private(set) var status: SensorStatus
    public let policy: RetryPolicy
    /// No data for this long while running: stale.
    public let staleAfter: Duration
    /// Consecutive failed samples before the sensor is restarted.
    public let failuresBeforeRestart: Int
    private var consecutiveFailures = 0
    private var restartAttempt = 0
    private var lastProgress: Duration = .zero
    private var hasRun = false

    public init(id: String, type: SensorType, interval: Duration, policy: RetryPolicy = RetryPolicy(), failuresBeforeRestart: Int = 3) {
        status = SensorStatus(id: id, type: type, state: .absent)
        self.policy = policy
        // Three missed intervals, but never less than 15 s (the SCD4x needs 5 s per value).
        staleAfter = max(interval * 3, .seconds(15))
        self.failuresBeforeRestart = failuresBeforeRestart
    }

    /// The chip answered and is measuring; values are not trustworthy until its first good sample.
    public mutating func started(serial: String?, at now: Duration) {
        status.serial = serial
        status.state = .warming
        consecutiveFailures = 0
        lastProgress = now
        if hasRun { status.reinits += 1 }
        hasRun = true
    }

    /// A good sample; `warming` says the chip is still in its warm-up (nothing published).
    public mutating func sampled(warming: Bool, at now: Duration) {
        status.reads += 1
        status.state = warming ? .warming : .ok
        status.lastError = nil
        consecutiveFailures = 0
        restartAttempt = 0
        lastProgress = now
    }

    /// The chip had no new data this time.
    public mutating func noData(at now: Duration) -> Next {
        guard now - lastProgress >= staleAfter else { return .keepSampling }
        if status.state != .stale { status.state = .stale }
        // Stuck for three stale periods: restart the chip.
        if now - lastProgress >= staleAfter * 3 { return restart(reason: "no new data for \(now - lastProgress)") }
        return .keepSampling
    }

    /// A failed start (probe or initialisation).
    public mutating func startFailed(_ error: SensorError) -> Next {
        count(error)
        status.state = Self.isAbsence(error) ? .absent : .faulted
        let delay = policy.delay(attempt: restartAttempt)
        restartAttempt += 1
        return .restart(after: delay)
    }

    /// A failed sample.
    public mutating func sampleFailed(_ error: SensorError) -> Next {
        count(error)
        consecutiveFailures += 1
        if error.kind == .deviceFault {
            status.state = .faulted
            return restart(reason: error.detail)
        }
        if consecutiveFailures >= failuresBeforeRestart {
            status.state = Self.isAbsence(error) ? .absent : .faulted
            return restart(reason: error.detail)
        }
        return .keepSampling
    }

    private mutating func restart(reason: String) -> Next {
        if status.lastError == nil { status.lastError = reason }
        consecutiveFailures = 0
        let delay = policy.delay(attempt: restartAttempt)
        restartAttempt += 1
        return .restart(after: delay)
    }

    private mutating func count(_ error: SensorError) {
        switch error.kind {
        case .crc: status.crcErrors += 1
        case .notResponding: status.nacks += 1
        case .malformed, .implausible, .wrongDevice: status.rejected += 1
        default: break
        }
        status.lastError = error.description
    }

    /// Errors that mean "nobody answers here": the sensor is absent rather than faulty.
    static func isAbsence(_ error: SensorError) -> Bool {
        [.notResponding, .busMissing, .unsupported].contains(error.kind)
    }
}
