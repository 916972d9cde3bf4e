import Geometry
import GPIO
import JPEG
import Journal
import Logging
import ServiceLifecycle
import Settings
import Timestamps

/// A snapshot ready for the classifier and the outbox: a validated JPEG with its quality flags.
public struct Snapshot: Sendable {
    public var camera: String
    public var jpeg: [UInt8]
    public var width: Int
    public var height: Int
    /// The camera's pixel format (`MJPG` kept as sent, `YUYV` encoded by us).
    public var sourceFormat: String
    public var quality: QualityReport
    /// Frames rejected as corrupt during this capture.
    public var corruptFrames: Int
    public var timings: CaptureTimings
    /// The part of the frame the classifier should look at.
    public var regionOfInterest: NormalizedRect
}

/// Where a capture spent its time, in milliseconds.
public struct CaptureTimings: Sendable, Equatable {
    /// Opening the device (0 when it was open already).
    public var openMs: Double = 0
    /// Illumination settle time.
    public var settleMs: Double = 0
    /// Stream on to valid frame, stream off.
    public var captureMs: Double = 0
    /// Quality gate.
    public var qualityMs: Double = 0
    public var totalMs: Double = 0
}

/// What the control socket shows per camera.
public struct CameraStatus: Sendable, Equatable {
    public var name: String
    public var state: CameraState
    public var counters: CameraCounters
    public var lastError: String?
    /// Seconds in the current state.
    public var secondsInState: Double
}

/// Supervises one camera in the manner of ustreamer and motion: opens it, captures on demand and on
/// ENODEV, EIO or timeouts closes everything, reports it offline and reopens with backoff. Owns the
/// camera's illumination LED, which is on only while a capture runs and is switched off on every
/// exit path (error, timeout, cancellation, shutdown).
public actor CameraSupervisor: Service {
    public nonisolated let name: String
    /// The supervised camera (e.g. a `SimulatedCamera` the demo injects faults into). Capture
    /// through the supervisor, not directly, or the LED and the counters are bypassed.
    public nonisolated let camera: any Camera
    private let request: StillRequest
    private let illumination: (any GPIOLine)?
    private let settle: Duration
    private let calibration: QualityCalibration
    private let regionOfInterest: NormalizedRect
    private let now: @Sendable () -> Duration
    private let events: AsyncStream<CameraEvent>.Continuation?
    private let onStateChange: (@Sendable (String, CameraState) async -> Void)?
    private let logger: Logger
    private let stateLog: StateChangeLog
    private var health: CameraHealth
    private var capturing = false
    private var lastReportedState: CameraState?
    /// How often the run loop retries a closed camera and checks the offline alarm.
    private let maintenanceInterval: Duration
    /// Close the device after every capture (the default). A closed camera draws no USB bandwidth or
    /// power, every capture starts from a fresh driver state, and the node is free for
    /// `remotaird capture` and for a driver reload (a module cannot be unloaded while a file on
    /// it is open). Presence is watched between captures through the device node.
    private let releaseBetweenCaptures: Bool

    public init(
        camera: any Camera, settings: CameraSettings, backoffMax: Duration = .seconds(30),
        illumination: (any GPIOLine)? = nil, settle: Duration = .milliseconds(200),
        calibration: QualityCalibration = QualityCalibration(),
        events: AsyncStream<CameraEvent>.Continuation? = nil,
        onStateChange: (@Sendable (String, CameraState) async -> Void)? = nil,
        maintenanceInterval: Duration = .seconds(1),
        releaseBetweenCaptures: Bool = true,
        now: (@Sendable () -> Duration)? = nil,
        logger: Logger = Logger(label: "vision")
    ) {
        name = settings.name
        self.camera = camera
        request = StillRequest(warmupFrames: settings.warmupFrames, timeout: settings.timeout,
                               maxCorruptFrames: settings.maxCorruptFrames, jpegQuality: settings.jpegQuality)
        self.illumination = illumination
        self.settle = settle
        self.calibration = calibration
        regionOfInterest = settings.regionOfInterest
        self.events = events
        self.onStateChange = onStateChange
        self.maintenanceInterval = maintenanceInterval
        self.releaseBetweenCaptures = releaseBetweenCaptures
        let clock: @Sendable () -> Duration
        if let now {
            clock = now
        } else {
            let start = ContinuousClock.now
            clock = { ContinuousClock.now - start }
        }
        self.now = clock
        self.logger = logger
        stateLog = StateChangeLog(logger: logger)
        health = CameraHealth(camera: settings.name, offlineAlarmAfter: settings.offlineAlarmAfter, backoffMax: backoffMax, now: clock())
    }

    // MARK: - Capture

    /// Captures one still; never throws: a failure comes back named and counted.
    public func capture() async -> Result<Snapshot, CameraError> {
        capturing = true
        defer { capturing = false }
        let start = now()
        var timings = CaptureTimings()

        if !(await camera.isOpen) {
            guard health.mayOpen(at: start) else {
                let wait = (health.nextOpenAt ?? start) - start
                return .failure(CameraError(kind: .offline, camera: name,
                                            detail: "reopen in \(wait); last error: \(health.lastError?.description ?? "none")"))
            }
            if let error = await openCamera() { return .failure(error) }
            timings.openMs = milliseconds(now() - start)
        }

        let outcome = await withIllumination(timings: &timings) { [camera, request] () async -> Result<Still, CameraError> in
            await Self.race(camera: camera, request: request, limit: request.timeout + .seconds(2))
        }
        let captured = now()
        if releaseBetweenCaptures { await camera.close() }
        switch outcome {
        case .success(let still):
            health.captured(corruptFrames: still.corruptFrames, at: captured)
            let quality = ImageQuality.assess(still.frame.preview, calibration: calibration)
            timings.qualityMs = milliseconds(now() - captured)
            timings.totalMs = milliseconds(now() - start)
            await report()
            return .success(Snapshot(camera: name, jpeg: still.frame.jpeg, width: still.frame.width, height: still.frame.height,
                                     sourceFormat: still.frame.sourceFormat, quality: quality, corruptFrames: still.corruptFrames,
                                     timings: timings, regionOfInterest: regionOfInterest))
        case .failure(let error):
            let corrupt = error.kind == .corruptFrames ? request.maxCorruptFrames + 1 : 0
            if health.captureFailed(error, corruptFrames: corrupt, at: captured) {
                await camera.close()
            }
            await report()
            return .failure(error)
        }
    }

    /// Switches the camera's LED on, waits for it to settle, runs `body`, and switches it off
    /// whatever happened. A failing LED is logged and the capture goes on in the dark (the quality
    /// gate will say `too_dark`).
    private func withIllumination(timings: inout CaptureTimings, _ body: @Sendable () async -> Result<Still, CameraError>) async -> Result<Still, CameraError> {
        guard let illumination else { return await body() }
        defer { lightOff() }
        do {
            try illumination.setValue(true)
        } catch {
            stateLog.report("\(name).illumination", state: "failed", level: .warning, "illumination LED failed",
                            metadata: ["camera": .string(name), "error": .string("\(error)")])
        }
        let settleStart = now()
        do {
            try await Task.sleep(for: settle)
        } catch {
            return .failure(CameraError(kind: .cancelled, camera: name, detail: "cancelled while the illumination settled"))
        }
        timings.settleMs = milliseconds(now() - settleStart)
        return await body()
    }

    private func lightOff() {
        guard let illumination else { return }
        do {
            try illumination.setValue(false)
        } catch {
            logger.error("illumination LED could not be switched off", metadata: ["camera": .string(name), "error": .string("\(error)")])
        }
    }

    /// Runs the capture against a deadline: a camera stuck past its own timeout is cancelled,
    /// and one camera's trouble never holds the caller longer than `limit`.
    static func race(camera: any Camera, request: StillRequest, limit: Duration) async -> Result<Still, CameraError> {
        await withTaskGroup(of: Result<Still, CameraError>?.self) { group in
            group.addTask {
                do throws(CameraError) {
                    return .success(try await camera.capture(request))
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .failure(CameraError(kind: .timeout, camera: camera.name, detail: "capture did not finish within \(limit)"))
        }
    }

    private func openCamera() async -> CameraError? {
        do throws(CameraError) {
            try await camera.open()
            for event in health.opened(at: now()) { emit(event) }
            await report()
            return nil
        } catch {
            health.openFailed(error, at: now())
            await report()
            return error
        }
    }

    // MARK: - Maintenance (the run loop)

    /// One maintenance step: notice a vanished device node, probe an unavailable camera when its
    /// backoff allows (open, and close again when cameras are released between captures), raise
    /// the offline alarm.
    public func maintain() async {
        if !capturing {
            if health.isUsable {
                if !(await camera.isPresent) {
                    await camera.close()
                    health.vanished(CameraError(kind: .deviceGone, camera: name, detail: "device node disappeared"), at: now())
                    await report()
                }
            } else if !(await camera.isOpen), health.mayOpen(at: now()) {
                if await openCamera() == nil, releaseBetweenCaptures { await camera.close() }
            }
        }
        for event in health.tick(at: now()) { emit(event) }
    }

    public func run() async throws {
        let interval = maintenanceInterval
        // Cancelled on graceful shutdown, so the sleep ends at once; then the light and camera are released.
        try? await cancelWhenGracefulShutdown { [self] in
            while !Task.isCancelled {
                await self.maintain()
                // To the next grid point, shared with the other camera and the sensors (issue 20).
                try await Task.sleep(for: WakeGrid.delayToNext(interval))
            }
        }
        await shutdown()
    }

    /// Light off, camera closed: the last thing the daemon does with this camera.
    public func shutdown() async {
        lightOff()
        await camera.close()
    }

    // MARK: - Reporting

    public func status() -> CameraStatus {
        CameraStatus(name: name, state: health.state, counters: health.counters,
                     lastError: health.lastError?.description, secondsInState: seconds(now() - health.stateSince))
    }

    public var state: CameraState { health.state }
    public var counters: CameraCounters { health.counters }

    private func emit(_ event: CameraEvent) {
        var metadata: Logger.Metadata = ["camera": .string(name), "event": .string(event.name)]
        if case .offline(_, let duration, let reason) = event {
            metadata["unavailable_s"] = .stringConvertible(seconds(duration))
            metadata["reason"] = .string(reason)
        }
        if case .recovered(_, let downtime) = event { metadata["downtime_s"] = .stringConvertible(seconds(downtime)) }
        logger.notice("\(event.name)", metadata: metadata)
        events?.yield(event)
    }

    private func report() async {
        let state = health.state
        let level: Logger.Level = switch state {
        case .ok: .info
        case .degraded: .warning
        case .absent, .offline: .error
        }
        var metadata: Logger.Metadata = ["camera": .string(name)]
        if let error = health.lastError, state != .ok { metadata["error"] = .string(error.description) }
        stateLog.report(name, state: state.rawValue, level: level, "camera \(state.rawValue)", metadata: metadata)
        if state != lastReportedState {
            lastReportedState = state
            await onStateChange?(name, state)
        }
    }

    private func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
