/// The states a camera is reported in.
public enum CameraState: String, Sendable, Equatable {
    /// Never opened since start (not plugged in, wrong path, empty replay folder).
    case absent
    /// Open, and the last capture was clean.
    case ok
    /// Open, but the last capture needed to skip corrupt frames or failed without losing the device.
    case degraded
    /// Lost after working (unplugged, EIO, timeouts): closed, reopening with backoff.
    case offline
}

/// What a camera did since start.
public struct CameraCounters: Sendable, Equatable {
    /// Successful captures.
    public var captures = 0
    /// Frames rejected as corrupt or flagged by the driver.
    public var corruptFrames = 0
    /// Captures that timed out.
    public var timeouts = 0
    /// Successful reopens after a failure.
    public var reopens = 0
    /// Failed captures and opens, of any kind.
    public var failures = 0

    public init() {}
}

/// An event other parts act on (the main job raises and clears alarms from them).
public enum CameraEvent: Sendable, Equatable {
    /// The camera has been unavailable for at least `offline_alarm_after`.
    case offline(camera: String, unavailableFor: Duration, reason: String)
    /// The camera works again after a `camera_offline`.
    case recovered(camera: String, downtime: Duration)

    /// `camera_offline` or `camera_recovered`.
    public var name: String {
        switch self {
        case .offline: "camera_offline"
        case .recovered: "camera_recovered"
        }
    }

    public var camera: String {
        switch self {
        case .offline(let camera, _, _), .recovered(let camera, _): camera
        }
    }
}

/// The supervisor's policy as a pure value: state, counters, reopen backoff and the offline alarm,
/// driven by outcomes and the time (monotonic, injected), tested without devices or clocks.
public struct CameraHealth: Sendable {
    public let camera: String
    public let offlineAlarmAfter: Duration
    public let backoffInitial: Duration
    public let backoffMax: Duration

    public private(set) var state: CameraState = .absent
    public private(set) var counters = CameraCounters()
    public private(set) var lastError: CameraError?
    /// When the current state began.
    public private(set) var stateSince: Duration
    /// When the camera last stopped being usable (absent or offline), nil while usable.
    public private(set) var unavailableSince: Duration?
    /// Earliest time of the next open attempt; nil means now.
    public private(set) var nextOpenAt: Duration?
    private var backoff: Duration
    private var alarmRaised = false
    private var everOpened = false

    public init(camera: String, offlineAlarmAfter: Duration, backoffInitial: Duration = .seconds(1), backoffMax: Duration = .seconds(30), now: Duration) {
        self.camera = camera
        self.offlineAlarmAfter = offlineAlarmAfter
        self.backoffInitial = backoffInitial
        self.backoffMax = max(backoffMax, backoffInitial)
        backoff = backoffInitial
        stateSince = now
        unavailableSince = now
    }

    /// True when an open may be attempted now.
    public func mayOpen(at now: Duration) -> Bool {
        nextOpenAt.map { now >= $0 } ?? true
    }

    private mutating func enter(_ new: CameraState, at now: Duration) {
        if new != state { stateSince = now }
        state = new
    }

    /// The device opened; returns `camera_recovered` when an offline alarm was raised.
    public mutating func opened(at now: Duration) -> [CameraEvent] {
        if everOpened && (state == .offline || state == .absent) { counters.reopens += 1 }
        everOpened = true
        if state == .offline || state == .absent { enter(.ok, at: now) }
        backoff = backoffInitial
        nextOpenAt = nil
        let downtime = unavailableSince.map { now - $0 } ?? .zero
        unavailableSince = nil
        if alarmRaised {
            alarmRaised = false
            return [.recovered(camera: camera, downtime: downtime)]
        }
        return []
    }

    /// An open attempt failed: stay (or become) unavailable and back off.
    public mutating func openFailed(_ error: CameraError, at now: Duration) {
        counters.failures += 1
        lastError = error
        markUnavailable(at: now)
    }

    /// A capture succeeded after skipping `corruptFrames` frames.
    public mutating func captured(corruptFrames: Int, at now: Duration) {
        counters.captures += 1
        counters.corruptFrames += corruptFrames
        enter(corruptFrames > 0 ? .degraded : .ok, at: now)
    }

    /// A capture failed; returns true when the device must be closed and reopened.
    public mutating func captureFailed(_ error: CameraError, corruptFrames: Int = 0, at now: Duration) -> Bool {
        counters.failures += 1
        counters.corruptFrames += corruptFrames
        if error.kind == .timeout { counters.timeouts += 1 }
        lastError = error
        if error.needsReopen {
            markUnavailable(at: now)
            return true
        }
        if error.kind != .cancelled && error.kind != .offline { enter(.degraded, at: now) }
        return false
    }

    private mutating func markUnavailable(at now: Duration) {
        enter(everOpened ? .offline : .absent, at: now)
        if unavailableSince == nil { unavailableSince = now }
        nextOpenAt = now + backoff
        backoff = min(backoff * 2, backoffMax)
    }

    /// The device node disappeared between captures (unplugged, driver unloaded).
    public mutating func vanished(_ error: CameraError, at now: Duration) {
        guard state == .ok || state == .degraded else { return }
        counters.failures += 1
        lastError = error
        markUnavailable(at: now)
    }

    /// True while the camera is usable (ok or degraded).
    public var isUsable: Bool { state == .ok || state == .degraded }

    /// Time passing: returns `camera_offline` once the camera has been unavailable long enough.
    public mutating func tick(at now: Duration) -> [CameraEvent] {
        guard !alarmRaised, let since = unavailableSince, now - since >= offlineAlarmAfter else { return [] }
        alarmRaised = true
        return [.offline(camera: camera, unavailableFor: now - since, reason: lastError?.description ?? "never opened")]
    }
}
