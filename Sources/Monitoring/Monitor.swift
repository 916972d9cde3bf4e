import Foundation
import Logging
import Risk
import Timestamps

/// Settings of the main job, derived from configuration and calibration (rebuilt on reload).
public struct MonitorSettings: Sendable, Equatable {
    public var risk: RiskSettings
    /// The label whose probability means "dirty duct".
    public var alarmLabel: String
    public var schedule: CaptureSchedule
    public var snapshotInterval: TimeInterval
    public var sampleBand: Double
    public var samplesPerDay: Int
    /// The label attribute of the Ground Truth line in snapshot sidecars (`uplink.label_attribute`).
    public var labelAttribute: String

    public init(risk: RiskSettings, alarmLabel: String, schedule: CaptureSchedule, snapshotInterval: TimeInterval = 86400,
                sampleBand: Double = 0.1, samplesPerDay: Int = 20, labelAttribute: String = "duct-condition") {
        self.risk = risk
        self.alarmLabel = alarmLabel
        self.schedule = schedule
        self.snapshotInterval = snapshotInterval
        self.sampleBand = sampleBand
        self.samplesPerDay = samplesPerDay
        self.labelAttribute = labelAttribute
    }
}


/// What a capture produced, per camera: returned to `remotairctl capture` and logged.
public struct CaptureReport: Sendable, Codable, Equatable {
    /// What became of one camera's frame.
    public enum Verdict: String, Sendable, Codable, CaseIterable {
        /// Classified; its probability fed the risk rules.
        case scored
        /// The quality gate flagged it (dark, blurred, lens blocked): not classified as the duct.
        case unusable
        /// No frame, or the classifier failed on it.
        case failed
    }

    public struct Camera: Sendable, Codable, Equatable {
        public var camera: String
        public var verdict: Verdict
        public var label: String?
        public var scores: [String: Double]?
        public var qualityFlags: [String]
        public var snapshotID: String?
        public var error: ErrorInfo?
        public var captureMilliseconds: Double
        public var classifyMilliseconds: Double?
        /// Why the outbox refused this camera's snapshot (set only when no snapshot of it was queued).
        public var snapshotError: ErrorInfo? = nil
    }

    public struct ErrorInfo: Sendable, Codable, Equatable {
        public var code: String
        public var message: String
    }

    public var captureID: String
    public var trigger: String
    public var startedAt: Date
    public var cameras: [Camera]
    public var alarms: [AlarmEvent]
}

/// Everything the main job keeps across restarts.
struct MonitorState: Codable, Equatable {
    var engine: RiskEngine
    var samples: SamplePolicy
    var snapshots: SnapshotSchedule
    /// Alarm events the outbox did not accept yet (disk full, I/O error): retried every cycle, never dropped.
    var undelivered: [AlarmEvent] = []
    /// Active alarm id -> outbox item id of its latest document, for `remotairctl alarms`. Optional so a
    /// state file written before it still loads.
    var alarmDocuments: [String: String]?
}

/// Where an active alarm's latest document is, as far as the main job knows.
public enum AlarmDelivery: Sendable, Equatable {
    /// In the outbox under this item id (ask the outbox how far its upload got).
    case queued(itemID: String)
    /// The outbox refused it; it is retried every cycle.
    case notQueued
    /// No record: restored from a state file written before deliveries were recorded.
    case unknown
}

/// The board's main job: one capture = frames from both cameras, quality gate, classification, risk
/// engine, alarms and snapshots into the outbox. An actor, so a scheduled capture, a manual capture from
/// the control socket and the push button never interleave: a request during a capture joins it.
public actor Monitor {
    private var settings: MonitorSettings
    private var frames: any FrameSource
    private var classifier: any FrameClassifier
    private let queue: any DocumentQueue
    private var provenance: Provenance
    private let store: any StateStore
    private let logger: Logger
    private var state: MonitorState
    private var running: Task<CaptureReport, Never>?
    private var captureCount = 0
    /// The latest frame per camera, attached to alarms that do not come from a capture (air quality).
    private var latestFrames: [String: (frame: CapturedFrame, classification: Classification?, at: Date)] = [:]
    private let now: @Sendable () -> Date
    /// Snapshot refusals of the capture running now, per camera (kept for its report).
    private var snapshotRefusals: [String: CaptureReport.ErrorInfo] = [:]
    /// Snapshot lines go under `capture:`: a refused manual snapshot is no risk decision.
    private let captureLogger: Logger
    /// Capture loops waiting for their next capture, told when a reload changes the schedule.
    private var scheduleWatchers: [UUID: AsyncStream<CaptureSchedule>.Continuation] = [:]

    public init(settings: MonitorSettings, frames: any FrameSource, classifier: any FrameClassifier, queue: any DocumentQueue,
                provenance: Provenance, store: any StateStore, logger: Logger, now: @escaping @Sendable () -> Date = Date.init,
                captureLogger: Logger = Logger(label: "capture")) {
        self.captureLogger = captureLogger
        self.settings = settings
        self.frames = frames
        self.classifier = classifier
        self.queue = queue
        self.provenance = provenance
        self.store = store
        self.logger = logger
        self.now = now
        let fresh = MonitorState(
            engine: RiskEngine(settings: settings.risk),
            samples: SamplePolicy(threshold: settings.risk.camera.raiseThreshold, band: settings.sampleBand, dailyCap: settings.samplesPerDay),
            snapshots: SnapshotSchedule(interval: settings.snapshotInterval))
        var restored = store.restore(MonitorState.self, logger: logger) ?? fresh
        // The state file records the settings it was written under; the configuration's are the ones in force.
        Self.apply(settings, to: &restored)
        state = restored
        if !restored.engine.activeAlarms.isEmpty {
            logger.notice("restored active alarms", metadata: ["alarms": .string(restored.engine.activeAlarms.map(\.id).joined(separator: ","))])
        }
    }

    public var activeAlarms: [ActiveAlarm] { state.engine.activeAlarms }
    public var overall: Severity { state.engine.overall }
    public var currentSettings: MonitorSettings { settings }
    public var captures: Int { captureCount }
    public var currentProvenance: Provenance { provenance }

    /// Where an active alarm's latest document is: queued (with its outbox item), refused, or unknown.
    public func delivery(ofAlarm id: String) -> AlarmDelivery {
        if state.undelivered.contains(where: { $0.id == id }) { return .notQueued }
        return state.alarmDocuments?[id].map { .queued(itemID: $0) } ?? .unknown
    }

    /// Swaps in a new, fully validated set (reload). Raised alarms and gathered evidence stay.
    public func reload(settings new: MonitorSettings, classifier newClassifier: any FrameClassifier, provenance newProvenance: Provenance) {
        let scheduleChanged = new.schedule != settings.schedule
        settings = new
        classifier = newClassifier
        provenance = newProvenance
        Self.apply(new, to: &state)
        persist()
        if scheduleChanged {
            for watcher in scheduleWatchers.values { watcher.yield(new.schedule) }
        }
    }

    /// The capture schedule each time a reload changes it: a capture loop waiting out a long interval
    /// recomputes its next capture at once instead of when the old wait ends.
    public func scheduleChanges() -> AsyncStream<CaptureSchedule> {
        // Only the newest schedule matters to a waiting loop.
        let (stream, continuation) = AsyncStream<CaptureSchedule>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        scheduleWatchers[id] = continuation
        continuation.onTermination = { _ in Task { await self.stopWatchingSchedule(id) } }
        return stream
    }

    private func stopWatchingSchedule(_ id: UUID) {
        scheduleWatchers[id] = nil
    }

    /// Settings into kept state: what was gathered stays (alarms and evidence, today's sample count, the
    /// times of the last snapshots), so a reload or restart neither reopens the sample cap nor loses a snapshot.
    private static func apply(_ settings: MonitorSettings, to state: inout MonitorState) {
        state.engine.update(settings: settings.risk)
        state.samples.threshold = settings.risk.camera.raiseThreshold
        state.samples.band = settings.sampleBand
        state.samples.dailyCap = settings.samplesPerDay
        state.snapshots.interval = settings.snapshotInterval
    }

    /// Runs a capture, or joins the one already running.
    public func capture(trigger: String, cameras: [String]? = nil, note: String? = nil, upload: Bool = true) async -> CaptureReport {
        if let running { return await running.value }
        let task = Task { await self.performCapture(trigger: trigger, cameras: cameras, note: note, upload: upload) }
        running = task
        let report = await task.value
        running = nil
        return report
    }

    /// Sensor serials as the sensors report them, for alarm provenance.
    public func updateSensorSerials(_ serials: [String: String]) {
        guard serials != provenance.sensorSerials else { return }
        provenance.sensorSerials = serials
    }

    /// A sensor reading for the air-quality rules.
    public func observe(metric: String, value: Double, unit: String) async {
        let events = state.engine.observeMetric(metric, value: value, unit: unit, at: now())
        await deliver(events, captureID: nil, frames: [:])
    }

    /// A camera supervisor's view of whether the camera delivers frames.
    public func observe(camera: String, online: Bool) async {
        await deliver(state.engine.observeCamera(camera, online: online, at: now()), captureID: nil, frames: [:])
    }

    /// A sensor's fault state.
    public func observe(sensor: String, faulted: Bool) async {
        await deliver(state.engine.observeSensor(sensor, faulted: faulted, at: now()), captureID: nil, frames: [:])
    }

    /// Outbox fill, for the `outbox_full` rule.
    public func observeOutbox() async {
        let fraction = await queue.fillFraction()
        await deliver(state.engine.observeOutbox(fillFraction: fraction, at: now()), captureID: nil, frames: [:])
    }

    // MARK: - One capture

    private func performCapture(trigger: String, cameras: [String]?, note: String?, upload: Bool) async -> CaptureReport {
        let startedAt = now()
        let captureID = Self.captureID(startedAt)
        captureCount += 1
        snapshotRefusals = [:]
        let outcomes = await frames.capture(cameras: cameras)
        var reports: [CaptureReport.Camera] = []
        var verdicts: [String: CameraVerdict] = [:]
        var probabilities: [String: Double] = [:]
        var captured: [String: (frame: CapturedFrame, classification: Classification?)] = [:]

        for outcome in outcomes {
            switch outcome {
            case .failed(let camera, let code, let message):
                verdicts[camera] = .failed(reason: code)
                reports.append(.init(camera: camera, verdict: .failed, label: nil, scores: nil, qualityFlags: [], snapshotID: nil,
                                     error: .init(code: code, message: message), captureMilliseconds: 0, classifyMilliseconds: nil))
            case .frame(let frame):
                var classification: Classification?
                var error: CaptureReport.ErrorInfo?
                do {
                    classification = try await classifier.classify(jpeg: frame.jpeg, camera: frame.camera, regionOfInterest: frame.regionOfInterest)
                } catch {
                    let info = CaptureReport.ErrorInfo(code: "classifier_failed", message: "\(error)")
                    self.logger.error("classification failed", metadata: ["camera": .string(frame.camera), "error": .string(info.message)])
                    classificationError(&reports, frame: frame, info: info)
                    verdicts[frame.camera] = .failed(reason: "classifier_failed")
                    continue
                }
                captured[frame.camera] = (frame, classification)
                latestFrames[frame.camera] = (frame, classification, startedAt)
                let probability = classification?.scores[settings.alarmLabel]
                let verdict: CaptureReport.Verdict
                if !frame.qualityFlags.isEmpty {
                    verdicts[frame.camera] = .unusable(reason: frame.qualityFlags.joined(separator: ","))
                    verdict = .unusable
                } else if let probability {
                    verdicts[frame.camera] = .scored(probability)
                    probabilities[frame.camera] = probability
                    verdict = .scored
                } else {
                    verdicts[frame.camera] = .failed(reason: "no score for label \(settings.alarmLabel)")
                    verdict = .failed
                    error = .init(code: "label_missing", message: "the model gives no score for '\(settings.alarmLabel)'")
                }
                reports.append(.init(camera: frame.camera, verdict: verdict, label: classification?.label, scores: classification?.scores,
                                     qualityFlags: frame.qualityFlags, snapshotID: nil, error: error,
                                     captureMilliseconds: frame.captureMilliseconds, classifyMilliseconds: classification?.milliseconds))
            }
        }

        let events = state.engine.observeCapture(verdicts, at: startedAt)
        // Alarm snapshots first (they are what the alarm is about), then the periodic record, then samples.
        var snapshotIDs = await deliver(events, captureID: captureID, frames: captured, trigger: trigger, note: note)
        for (camera, entry) in captured.sorted(by: { $0.key < $1.key }) where snapshotIDs[camera] == nil {
            let manual = trigger != "schedule"
            guard (manual && upload) || state.snapshots.due(camera, at: startedAt) else { continue }
            snapshotIDs[camera] = await enqueueSnapshot(captureID: captureID, purpose: .periodic, entry: entry, at: startedAt, alarmIDs: [], trigger: trigger, note: note)
        }
        for camera in state.samples.select(probabilities, at: startedAt) where snapshotIDs[camera] == nil {
            if let entry = captured[camera] {
                snapshotIDs[camera] = await enqueueSnapshot(captureID: captureID, purpose: .sample, entry: entry, at: startedAt, alarmIDs: [], trigger: trigger, note: note)
            }
        }
        for index in reports.indices {
            let camera = reports[index].camera
            reports[index].snapshotID = snapshotIDs[camera]
            if snapshotIDs[camera] == nil { reports[index].snapshotError = snapshotRefusals[camera] }
        }
        persist()

        let summary = reports.map { "\($0.camera)=\($0.verdict == .scored ? ($0.label ?? "?") : $0.verdict.rawValue)" }.joined(separator: " ")
        logger.info("capture", metadata: [
            "capture": .string(captureID), "trigger": .string(trigger), "result": .string(summary),
            "duct": .string(state.engine.ductState.rawValue),
        ])
        return CaptureReport(captureID: captureID, trigger: trigger, startedAt: startedAt, cameras: reports, alarms: events)
    }

    private func classificationError(_ reports: inout [CaptureReport.Camera], frame: CapturedFrame, info: CaptureReport.ErrorInfo) {
        reports.append(.init(camera: frame.camera, verdict: .failed, label: nil, scores: nil, qualityFlags: frame.qualityFlags,
                             snapshotID: nil, error: info, captureMilliseconds: frame.captureMilliseconds, classifyMilliseconds: nil))
    }

    /// Queues alarm events with the snapshots that document them; returns snapshot ids per camera.
    @discardableResult
    private func deliver(_ events: [AlarmEvent], captureID: String?, frames: [String: (frame: CapturedFrame, classification: Classification?)],
                         trigger: String = "rule", note: String? = nil) async -> [String: String] {
        let pending = state.undelivered + events
        state.undelivered = []
        var snapshotIDs: [String: String] = [:]
        for event in pending {
            do {
                let itemID = try await queue.enqueue(AlarmDocument(event: event, provenance: provenance).queued())
                var documents = state.alarmDocuments ?? [:]
                documents[event.id] = event.transition == .cleared ? nil : itemID
                state.alarmDocuments = documents
            } catch {
                logger.error("alarm not queued; will retry", metadata: ["alarm_id": .string(event.id), "error": .string("\(error)")])
                state.undelivered.append(event)
                continue
            }
            // Keys shared with every event that names the same thing, so one journal field finds them all
            // (`journalctl REMOTAIR_CAMERA=upstream`, `REMOTAIR_ALARM_KIND=duct_dirty`).
            var fields: Logger.Metadata = [
                "alarm_id": .string(event.id), "alarm_kind": .string(event.kind.rawValue), "subject": .string(event.subject),
                "severity": .string(event.severity.rawValue), "reason": .string(event.reason),
            ]
            switch event.kind {
            case .cameraOffline, .lensBlocked: fields["camera"] = .string(event.subject)
            case .sensorFaulted: fields["sensor"] = .string(event.subject)
            case .ductDirty, .airQuality, .outboxFull: break
            }
            logger.log(level: event.transition == .cleared ? .notice : .warning, "alarm \(event.transition.rawValue)", metadata: fields)
            // Every raised and cleared alarm travels with both cameras' snapshots: this capture's when it
            // came from one, else the latest frames.
            guard event.transition != .updated else { continue }
            let source: [String: (frame: CapturedFrame, classification: Classification?, at: Date)] = frames.isEmpty
                ? latestFrames : frames.mapValues { ($0.frame, $0.classification, now()) }
            for (camera, entry) in source.sorted(by: { $0.key < $1.key }) {
                let id = await enqueueSnapshot(captureID: captureID ?? Self.captureID(entry.at), purpose: .alarm,
                                               entry: (entry.frame, entry.classification), at: entry.at, alarmIDs: [event.id], trigger: trigger, note: note)
                if snapshotIDs[camera] == nil { snapshotIDs[camera] = id }
            }
        }
        if !pending.isEmpty { persist() }
        return snapshotIDs
    }

    private func enqueueSnapshot(captureID: String, purpose: SnapshotPurpose, entry: (frame: CapturedFrame, classification: Classification?),
                                 at time: Date, alarmIDs: [String], trigger: String, note: String?) async -> String? {
        var identity = provenance
        identity.cameras[entry.frame.camera] = .init(devicePath: entry.frame.devicePath, serial: entry.frame.serial)
        let record = SnapshotRecord(captureID: captureID, purpose: purpose, frame: entry.frame, classification: entry.classification,
                                    capturedAt: time, alarmIDs: alarmIDs, note: note, trigger: trigger, provenance: identity)
        do {
            let reservation = try queue.reserve(kind: purpose.document.kind, createdAt: time)
            let document = SnapshotDocument(snapshot: record, reservation: reservation, labelAttribute: settings.labelAttribute)
            let id = try await queue.enqueue(document.queued())
            snapshotRefusals[entry.frame.camera] = nil
            return id
        } catch {
            let refusal = error as? OutboxRefusal
            snapshotRefusals[entry.frame.camera] = .init(code: refusal?.code ?? "outbox_failed", message: "\(error)")
            // A snapshot someone asked for (remotairctl, the button) is kept as `periodic` in the outbox, but
            // the line names it by why it was taken.
            let why = purpose == .periodic && trigger != "schedule" ? "manual" : purpose.rawValue
            captureLogger.error("snapshot not queued", metadata: [
                "camera": .string(entry.frame.camera), "purpose": .string(why), "trigger": .string(trigger),
                "capture": .string(captureID), "error": .string("\(error)"),
            ])
            return nil
        }
    }

    private func persist() {
        do {
            try store.save(JSONEncoder.remotair.encode(state))
        } catch {
            logger.error("could not persist alarm state", metadata: ["error": .string("\(error)")])
        }
    }

    private static func captureID(_ date: Date) -> String {
        "cap-" + UTCTime(date).basic(fractionDigits: 3, zone: false).filter { $0 != "." }
    }
}
