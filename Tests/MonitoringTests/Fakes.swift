import Foundation
import Geometry
import Monitoring
import Synchronization

// Fakes at the main job's seams. The cameras and the classifier are scripted per camera; the queue and the
// state store keep what they are given in memory, as the outbox and the state file would on disk.

/// Time that moves only when a test says so.
final class ScriptedClock: Sendable {
    private let time: Mutex<Date>

    init(_ start: Date) { time = Mutex(start) }

    var now: Date { time.withLock { $0 } }

    func advance(by seconds: TimeInterval) {
        time.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}

/// What a simulated camera shows at the next capture.
enum Scene: Sendable {
    /// A frame whose probability of "dirty" the classifier will read back, with quality-gate flags.
    case frame(dirty: Double, flags: [String] = [])
    /// No frame (offline, timed out).
    case failed
}

/// Cameras whose frames carry their own scripted score, so the classifier fake can read it back.
final class ScriptedCameras: FrameSource {
    let cameraNames: [String]
    private let scenes: Mutex<[String: Scene]>
    private let captures = Mutex(0)

    init(_ names: [String] = ["downstream", "upstream"]) {
        cameraNames = names
        scenes = Mutex(Dictionary(uniqueKeysWithValues: names.map { ($0, Scene.frame(dirty: 0.1)) }))
    }

    func show(_ scene: Scene, on camera: String? = nil) {
        scenes.withLock { table in
            for name in cameraNames where camera == nil || camera == name { table[name] = scene }
        }
    }

    var captureCount: Int { captures.withLock { $0 } }

    func capture(cameras: [String]?) async -> [CameraOutcome] {
        captures.withLock { $0 += 1 }
        let table = scenes.withLock { $0 }
        return cameraNames.filter { cameras?.contains($0) ?? true }.map { name in
            switch table[name] ?? .failed {
            case .frame(let dirty, let flags):
                return .frame(CapturedFrame(camera: name, jpeg: Array("\(name) p=\(dirty)".utf8), qualityFlags: flags,
                                            devicePath: "/dev/v4l/by-path/\(name)", width: 640, height: 480, captureMilliseconds: 12))
            case .failed:
                return .failed(camera: name, code: "timeout", message: "no frame from \(name) within 3 s")
            }
        }
    }
}

/// Reads back the score the scripted camera wrote into the frame.
struct ScriptedClassifier: FrameClassifier {
    var labels: [String] { ["clean", "dirty"] }
    var modelSHA256: String { String(repeating: "ab", count: 32) }
    var modelVersion: String? { "test-1" }

    struct Unreadable: Error {}

    func classify(jpeg: [UInt8], camera: String, regionOfInterest: NormalizedRect?) async throws -> Classification {
        guard let text = String(bytes: jpeg, encoding: .utf8), let range = text.range(of: "p="),
              let dirty = Double(text[range.upperBound...]) else { throw Unreadable() }
        return Classification(label: dirty >= 0.5 ? "dirty" : "clean", scores: ["clean": 1 - dirty, "dirty": dirty], milliseconds: 2)
    }
}

/// The queue: keeps every document; can be told to refuse alarms (a full disk) or snapshots (with the
/// outbox's refusal code, as the daemon's adapter throws it below the free-space floor).
final class RecordingQueue: DocumentQueue {
    struct Refused: Error, CustomStringConvertible {
        var description: String { "disk full" }
    }

    private let state = Mutex<(documents: [QueuedDocument], next: Int, refuseAlarms: Bool, refuseSnapshots: OutboxRefusal?, fill: Double)>(
        ([], 0, false, nil, 0))

    var documents: [QueuedDocument] { state.withLock { $0.documents } }

    func refuseAlarms(_ refuse: Bool) { state.withLock { $0.refuseAlarms = refuse } }

    func refuseSnapshots(_ refusal: OutboxRefusal?) { state.withLock { $0.refuseSnapshots = refusal } }

    func setFill(_ fraction: Double) { state.withLock { $0.fill = fraction } }

    func reserve(kind: DocumentKind, createdAt: Date) throws -> DocumentReservation {
        let id = state.withLock { table -> String in
            table.next += 1
            return "item-\(table.next)"
        }
        return DocumentReservation(id: id, jpegReference: "s3://test-bucket/\(kind.rawValue)/\(id).jpg")
    }

    func enqueue(_ document: QueuedDocument) async throws -> String {
        try state.withLock { table in
            if document.kind == .alarm && table.refuseAlarms { throw Refused() }
            if document.kind != .alarm, let refusal = table.refuseSnapshots { throw refusal }
            table.next += 1
            let id = document.id ?? "item-\(table.next)"
            var stored = document
            stored.id = id
            table.documents.append(stored)
            return id
        }
    }

    func fillFraction() async -> Double { state.withLock { $0.fill } }

    /// The queued alarm documents, decoded.
    func alarms() throws -> [[String: Any]] {
        try documents.filter { $0.kind == .alarm }.map { try json($0) }
    }

    /// The queued snapshot and sample documents, decoded.
    func snapshots() throws -> [[String: Any]] {
        try documents.filter { $0.kind != .alarm }.map { try json($0) }
    }

    func json(_ document: QueuedDocument) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: document.json) as? [String: Any] else { throw Unreadable() }
        return object
    }

    struct Unreadable: Error {}
}

/// The state file, in memory: survives a "restart" (a new Monitor given the same store).
final class MemoryStateStore: StateStore {
    private let saved = Mutex<Data?>(nil)
    private let asides = Mutex(0)

    var location: String { "memory:risk-state.json" }
    var data: Data? { saved.withLock { $0 } }
    var setAsideCount: Int { asides.withLock { $0 } }

    func corrupt() { saved.withLock { $0 = Data("{\"engine\": [".utf8) } }

    func load() throws -> Data? { saved.withLock { $0 } }

    func save(_ data: Data) throws { saved.withLock { $0 = data } }

    /// Replaces what is saved, as an older daemon's state file would read.
    func replace(with data: Data) { saved.withLock { $0 = data } }

    func setAside() throws -> String {
        asides.withLock { $0 += 1 }
        saved.withLock { $0 = nil }
        return location + ".corrupt"
    }
}

/// Sensor readings and device states, as the test sets them.
final class ScriptedInputs: RiskInputs {
    private let state = Mutex<(readings: [MetricReading], sensors: [SensorReport], cameras: [CameraReport])>(([], [], []))

    func set(readings: [MetricReading]? = nil, sensors: [SensorReport]? = nil, cameras: [CameraReport]? = nil) {
        state.withLock { table in
            if let readings { table.readings = readings }
            if let sensors { table.sensors = sensors }
            if let cameras { table.cameras = cameras }
        }
    }

    func readings() async -> [MetricReading] { state.withLock { $0.readings } }
    func sensors() async -> [SensorReport] { state.withLock { $0.sensors } }
    func cameras() async -> [CameraReport] { state.withLock { $0.cameras } }
}
