import Geometry
import Digests
import Foundation
import Inference
import JPEG
import ControlProtocol
import Monitoring
import ObjectLayout
import Outbox
import Risk
import Sensors
import Settings
import Syscalls
import Uplink
import Vision

// Adapters from the feature targets to the main job's seams (Monitoring's FrameSource, FrameClassifier,
// DocumentQueue, RiskInputs, AlarmIndicator, StateStore). They translate types and add nothing of their
// own: what is queued, and what a state means, is decided in Monitoring.

/// The cameras, through the capture coordinator (one capture id, per-camera timeouts, never interleaved).
struct CameraFrameSource: FrameSource {
    let coordinator: CaptureCoordinator
    let devices: [String: String]

    var cameraNames: [String] { coordinator.cameraNames }

    func capture(cameras: [String]?) async -> [CameraOutcome] {
        let result = await coordinator.capture(cameras: cameras)
        return result.cameras.map { capture in
            switch capture.outcome {
            case .success(let snapshot):
                return .frame(CapturedFrame(
                    camera: snapshot.camera, jpeg: snapshot.jpeg, qualityFlags: snapshot.quality.flags.names,
                    devicePath: devices[snapshot.camera], width: snapshot.width, height: snapshot.height,
                    captureMilliseconds: snapshot.timings.totalMs, regionOfInterest: snapshot.regionOfInterest))
            case .failure(let error):
                return .failed(camera: capture.camera, code: error.kind.rawValue, message: error.description)
            }
        }
    }
}

extension CapturedFrame {
    init(camera: String, jpeg: [UInt8], qualityFlags: [String], devicePath: String?, width: Int, height: Int,
         captureMilliseconds: Double, regionOfInterest: NormalizedRect) {
        self.init(camera: camera, jpeg: jpeg, qualityFlags: qualityFlags, devicePath: devicePath, serial: nil,
                  width: width, height: height, captureMilliseconds: captureMilliseconds)
        self.regionOfInterest = regionOfInterest
    }
}

/// The int8 classifier on the board. The monitor actor calls it one frame at a time.
struct ModelFrameClassifier: FrameClassifier {
    let classifier: Classifier
    let modelVersion: String?

    var labels: [String] { classifier.labels }
    var modelSHA256: String { classifier.modelSHA256 }

    func classify(jpeg: [UInt8], camera: String, regionOfInterest: NormalizedRect?) async throws -> Monitoring.Classification {
        let result = try classifier.classify(jpeg: jpeg, regionOfInterest: regionOfInterest)
        return Monitoring.Classification(label: result.label, scores: result.scores, milliseconds: result.milliseconds)
    }
}

/// The durable outbox as the main job's document queue: ids are the outbox's, references follow the bucket's
/// key layout with the uplink's bucket and prefix.
struct OutboxDocumentQueue: DocumentQueue {
    let runtime: OutboxRuntime
    let uplink: UplinkSettings
    let outboxSettings: OutboxSettings
    let deviceID: String

    private func outbox() throws -> Outbox {
        guard let outbox = runtime.outbox else { throw OutboxRefusal(code: ControlError.Code.outboxFailed.rawValue, message: "the outbox is not open") }
        return outbox
    }

    func reserve(kind: DocumentKind, createdAt: Date) throws -> DocumentReservation {
        let id = ItemID.make(at: createdAt)
        let key = ObjectKey.make(prefix: uplink.prefix, deviceID: deviceID, kind: ItemKind(kind).rawValue, createdAt: createdAt,
                                 id: id.rawValue, fileExtension: Blob.Part.jpg.rawValue)
        return DocumentReservation(id: id.rawValue, jpegReference: "s3://\(uplink.bucket)/\(key)")
    }

    func enqueue(_ document: QueuedDocument) async throws -> String {
        let id = try document.id.map { text in
            guard let id = ItemID(text) else { throw DaemonError(component: "outbox", message: "'\(text)' is not an outbox item id") }
            return id
        }
        let item = NewItem(id: id, kind: ItemKind(document.kind), createdAt: document.createdAt, json: document.json,
                           jpeg: document.jpeg, priority: PriorityClass(document.priority), mqttTopic: document.mqttTopic)
        do {
            return try outbox().enqueue(item).description
        } catch let error as OutboxError {
            throw Self.refusal(error)
        }
    }

    /// The outbox's error as the main job's refusal, with the code the control socket answers.
    static func refusal(_ error: OutboxError) -> OutboxRefusal {
        let code: ControlError.Code
        switch error.code {
        case .belowFreeSpaceFloor: code = .belowFreeSpaceFloor
        case .budgetFull: code = .outboxFull
        case .invalidItem, .io, .closed: code = .outboxFailed
        }
        return OutboxRefusal(code: code.rawValue, message: error.description)
    }

    func fillFraction() async -> Double {
        guard let outbox = runtime.outbox else { return 0 }
        let used = outbox.status().queuedBytes
        return outboxSettings.maxBytes > 0 ? Double(used) / Double(outboxSettings.maxBytes) : 0
    }
}

extension ItemKind {
    init(_ kind: DocumentKind) {
        switch kind {
        case .alarm: self = .alarm
        case .snapshot: self = .snapshot
        case .sample: self = .sample
        case .status: self = .status
        }
    }
}

extension PriorityClass {
    init(_ priority: DocumentPriority) {
        switch priority {
        case .alarm: self = .alarm
        case .periodic: self = .periodic
        }
    }
}

/// Sensor readings and states, and the camera supervisors' states, as the risk feed sees them.
struct DeviceRiskInputs: RiskInputs {
    let sensorReadings: SensorReadings
    let coordinator: CaptureCoordinator

    func readings() async -> [MetricReading] {
        sensorReadings.latest().map {
            MetricReading(sensorID: $0.sensorID, metric: $0.metric.rawValue, value: $0.value, unit: $0.unit, timestamp: $0.timestamp)
        }
    }

    func sensors() async -> [SensorReport] {
        sensorReadings.statuses().map { SensorReport(id: $0.id, condition: SensorCondition($0.state), serial: $0.serial) }
    }

    func cameras() async -> [CameraReport] {
        await coordinator.statuses().map { CameraReport(name: $0.name, condition: CameraCondition($0.state)) }
    }
}

extension SensorCondition {
    init(_ state: SensorState) {
        switch state {
        case .absent: self = .absent
        case .warming: self = .warming
        case .ok: self = .ok
        case .stale: self = .stale
        case .faulted: self = .faulted
        }
    }
}

extension CameraCondition {
    init(_ state: CameraState) {
        switch state {
        case .absent: self = .absent
        case .ok: self = .ok
        case .degraded: self = .degraded
        case .offline: self = .offline
        }
    }
}

/// The status LED, showing whether any alarm is raised.
struct LEDAlarmIndicator: AlarmIndicator {
    let indicator: StatusIndicator

    func setAlarm(_ active: Bool) async {
        await indicator.setAlarm(active)
    }
}

/// The main job's state in the state directory, replaced atomically (Syscalls' `writeAtomically`).
struct FileStateStore: StateStore {
    let path: String

    var location: String { path }

    func load() throws -> Data? {
        FileManager.default.contents(atPath: path)
    }

    func save(_ data: Data) throws {
        try FileIO.writeAtomically(data, to: path, mode: 0o640)
    }

    func setAside() throws -> String {
        let aside = path + ".corrupt-\(Int(Date().timeIntervalSince1970))"
        try FileManager.default.moveItem(atPath: path, toPath: aside)
        return aside
    }
}

/// SHA-256 of a file as hex, for provenance; nil when unreadable.
func fileSHA256(_ path: String) -> String? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    return Digest.sha256(data)
}
