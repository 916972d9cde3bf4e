import Foundation
import Geometry
import Risk

// The main job talks to cameras, the classifier, the sensors, the status LED, the queue and its state file
// through these small protocols; the Daemon target adapts the Vision, Inference, Sensors and Outbox targets
// to them. That keeps this target free of I/O and lets its tests drive whole capture cycles.

/// One camera's frame from a capture, already validated and passed through the quality gate.
public struct CapturedFrame: Sendable, Equatable {
    public var camera: String
    public var jpeg: [UInt8]
    /// Quality-gate flags: empty when usable; e.g. `too_dark`, `overexposed`, `blurred`, `lens_blocked`.
    public var qualityFlags: [String]
    /// Device path and USB serial, for alarm provenance.
    public var devicePath: String?
    public var serial: String?
    public var width: Int
    public var height: Int
    public var captureMilliseconds: Double
    /// The classifier's region of interest as a normalised rectangle `[x, y, width, height]`; nil for the whole frame.
    public var regionOfInterest: NormalizedRect?

    public init(camera: String, jpeg: [UInt8], qualityFlags: [String], devicePath: String? = nil, serial: String? = nil,
                width: Int = 0, height: Int = 0, captureMilliseconds: Double = 0) {
        self.camera = camera
        self.jpeg = jpeg
        self.qualityFlags = qualityFlags
        self.devicePath = devicePath
        self.serial = serial
        self.width = width
        self.height = height
        self.captureMilliseconds = captureMilliseconds
    }
}

/// What one camera gave in a capture.
public enum CameraOutcome: Sendable, Equatable {
    case frame(CapturedFrame)
    /// No frame: the camera is offline, timed out, or every frame was corrupt.
    case failed(camera: String, code: String, message: String)

    public var camera: String {
        switch self {
        case .frame(let frame): return frame.camera
        case .failed(let camera, _, _): return camera
        }
    }
}

/// Captures stills from the cameras (illumination, warm-up frames, validation, quality gate included).
public protocol FrameSource: Sendable {
    /// Camera names in configuration order.
    var cameraNames: [String] { get }
    /// Captures the named cameras (all when nil) under one capture; one failing never blocks the other.
    func capture(cameras: [String]?) async -> [CameraOutcome]
}

/// The classifier's answer for one frame.
public struct Classification: Sendable, Equatable, Codable {
    public var label: String
    public var scores: [String: Double]
    public var milliseconds: Double

    public init(label: String, scores: [String: Double], milliseconds: Double) {
        self.label = label
        self.scores = scores
        self.milliseconds = milliseconds
    }
}

/// Classifies a JPEG frame (decode, region of interest, resize, model).
public protocol FrameClassifier: Sendable {
    var labels: [String] { get }
    var modelSHA256: String { get }
    var modelVersion: String? { get }
    func classify(jpeg: [UInt8], camera: String, regionOfInterest: NormalizedRect?) async throws -> Classification
}

/// Why a snapshot is kept: drives its eviction priority in the outbox.
public enum SnapshotPurpose: String, Sendable, Codable {
    /// Attached to a raised or cleared alarm: evicted last.
    case alarm
    /// The periodic record of each camera, and manual captures.
    case periodic
    /// A retraining sample near the threshold or where cameras disagree: evicted first.
    case sample
}

/// A snapshot and its sidecar facts, on its way to the outbox.
public struct SnapshotRecord: Sendable {
    public var captureID: String
    public var purpose: SnapshotPurpose
    public var frame: CapturedFrame
    public var classification: Classification?
    public var capturedAt: Date
    /// Alarm ids this snapshot documents.
    public var alarmIDs: [String]
    public var note: String?
    public var trigger: String
    public var provenance: Provenance
}

/// Why the outbox did not take an item: a stable code (`below_free_space_floor`, `outbox_full`,
/// `outbox_failed`) that the control socket passes on per camera, and the outbox's own words.
public struct OutboxRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}


/// What a queued document is: decides its lane in the queue (eviction order) and its key folder.
public enum DocumentKind: String, Sendable, CaseIterable {
    /// An alarm event (JSON).
    case alarm
    /// A camera snapshot: JPEG plus its sidecar.
    case snapshot
    /// A retraining sample: JPEG plus its sidecar.
    case sample
    /// A status event (JSON), e.g. `model_activated`.
    case status
}

/// Why a document was made: what an alarm is about outranks the periodic record when the disk is full.
public enum DocumentPriority: String, Sendable, CaseIterable {
    case periodic
    case alarm
}

/// An id fixed before the document is written, with the object its JPEG will become, so a sidecar can
/// name its own image (the Ground Truth line's `source-ref`).
public struct DocumentReservation: Sendable, Equatable {
    public var id: String
    /// The JPEG's object, e.g. `s3://bucket/prefix/device/snapshot/2026/11/27/<id>.jpg`.
    public var jpegReference: String

    public init(id: String, jpegReference: String) {
        self.id = id
        self.jpegReference = jpegReference
    }
}

/// A document and its blobs, as bytes, on its way to the queue.
public struct QueuedDocument: Sendable, Equatable {
    /// A reserved id, or nil to have the queue pick one.
    public var id: String?
    public var kind: DocumentKind
    public var priority: DocumentPriority
    /// Capture or event time: names the key's date folders.
    public var createdAt: Date
    public var json: Data
    public var jpeg: Data?
    /// Also published over MQTT on this topic under the prefix (where MQTT is configured); nil: the queue's default
    /// for the kind (alarm events on `alarms`, nothing else).
    public var mqttTopic: String?

    public init(id: String? = nil, kind: DocumentKind, priority: DocumentPriority, createdAt: Date, json: Data, jpeg: Data? = nil,
                mqttTopic: String? = nil) {
        self.id = id
        self.kind = kind
        self.priority = priority
        self.createdAt = createdAt
        self.json = json
        self.jpeg = jpeg
        self.mqttTopic = mqttTopic
    }
}

/// The durable queue as the main job sees it: bytes in, ids out. `enqueue` returns only once the document
/// is durable; it throws when the queue refuses (disk full, I/O error), and the main job keeps the alarm.
public protocol DocumentQueue: Sendable {
    /// Reserves an id and the object reference of its JPEG.
    func reserve(kind: DocumentKind, createdAt: Date) throws -> DocumentReservation
    /// Queues a document with its blobs; returns its id.
    func enqueue(_ document: QueuedDocument) async throws -> String
    /// Fill fraction of the queue's budget (0...1), for the `outbox_full` rule.
    func fillFraction() async -> Double
}

/// One sensor reading, as the risk rules see it.
public struct MetricReading: Sendable, Equatable {
    public var sensorID: String
    /// `pm2_5`, `co2`, ... (the metric names of `Calibration/risk.yaml`).
    public var metric: String
    public var value: Double
    public var unit: String
    public var timestamp: Date

    public init(sensorID: String, metric: String, value: Double, unit: String, timestamp: Date) {
        self.sensorID = sensorID
        self.metric = metric
        self.value = value
        self.unit = unit
        self.timestamp = timestamp
    }
}

/// A sensor's state word, as the sensor service reports it.
public enum SensorCondition: String, Sendable, CaseIterable {
    case absent, warming, ok, stale, faulted
}

/// A camera supervisor's state word.
public enum CameraCondition: String, Sendable, CaseIterable {
    case absent, ok, degraded, offline
}

/// One sensor's state and serial.
public struct SensorReport: Sendable, Equatable {
    public var id: String
    public var condition: SensorCondition
    public var serial: String?

    public init(id: String, condition: SensorCondition, serial: String? = nil) {
        self.id = id
        self.condition = condition
        self.serial = serial
    }
}

/// One camera's state.
public struct CameraReport: Sendable, Equatable {
    public var name: String
    public var condition: CameraCondition

    public init(name: String, condition: CameraCondition) {
        self.name = name
        self.condition = condition
    }
}

/// What the risk rules learn outside captures: the latest readings, sensor states, camera states.
public protocol RiskInputs: Sendable {
    /// The latest reading of every sensor and metric (the feed passes on only those newer than it saw).
    func readings() async -> [MetricReading]
    func sensors() async -> [SensorReport]
    func cameras() async -> [CameraReport]
}

/// Shows the overall risk to people at the board (the status LED).
public protocol AlarmIndicator: Sendable {
    func setAlarm(_ active: Bool) async
}

/// Where each verdict came from: enough to reproduce or distrust it later.
public struct Provenance: Sendable, Equatable, Codable {
    public var daemonVersion: String
    public var deviceID: String
    public var modelSHA256: String
    public var modelVersion: String?
    /// The model's labels in output order (class indices in Ground Truth lines).
    public var labels: [String]
    public var classifierCalibrationSHA256: String
    public var riskCalibrationSHA256: String
    public var configurationSHA256: String
    /// Camera name -> device path and serial.
    public var cameras: [String: CameraIdentity]
    /// Sensor id -> serial.
    public var sensorSerials: [String: String]

    enum CodingKeys: String, CodingKey {
        case daemonVersion = "daemon_version", deviceID = "device_id", modelSHA256 = "model_sha256", modelVersion = "model_version"
        case labels, classifierCalibrationSHA256 = "classifier_calibration_sha256", riskCalibrationSHA256 = "risk_calibration_sha256"
        case configurationSHA256 = "configuration_sha256", cameras, sensorSerials = "sensor_serials"
    }

    public struct CameraIdentity: Sendable, Equatable, Codable {
        public var devicePath: String?
        public var serial: String?

        enum CodingKeys: String, CodingKey {
            case devicePath = "device_path", serial
        }

        public init(devicePath: String?, serial: String?) {
            self.devicePath = devicePath
            self.serial = serial
        }
    }

    public init(daemonVersion: String, deviceID: String, modelSHA256: String, modelVersion: String?, labels: [String],
                classifierCalibrationSHA256: String, riskCalibrationSHA256: String, configurationSHA256: String,
                cameras: [String: CameraIdentity] = [:], sensorSerials: [String: String] = [:]) {
        self.daemonVersion = daemonVersion
        self.deviceID = deviceID
        self.modelSHA256 = modelSHA256
        self.modelVersion = modelVersion
        self.labels = labels
        self.classifierCalibrationSHA256 = classifierCalibrationSHA256
        self.riskCalibrationSHA256 = riskCalibrationSHA256
        self.configurationSHA256 = configurationSHA256
        self.cameras = cameras
        self.sensorSerials = sensorSerials
    }
}
