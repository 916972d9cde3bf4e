import Digests
import Foundation
import Inference
import JPEG
import Monitoring
import Outbox
import Risk
import Settings
import Timestamps
import Uplink
import Vision

// Adapters from the feature targets to the main job's seams (Monitoring's FrameSource, FrameClassifier,
// AlarmOutbox). They translate types and add nothing of their own.

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
        self.regionOfInterest = [regionOfInterest.x, regionOfInterest.y, regionOfInterest.width, regionOfInterest.height]
    }
}

/// The int8 classifier on the board. The monitor actor calls it one frame at a time.
struct ModelFrameClassifier: FrameClassifier {
    let classifier: Classifier
    let modelVersion: String?

    var labels: [String] { classifier.labels }
    var modelSHA256: String { classifier.modelSHA256 }

    func classify(jpeg: [UInt8], camera: String, regionOfInterest: [Double]?) async throws -> Monitoring.Classification {
        let roi = regionOfInterest.flatMap { r in r.count == 4 ? NormalizedRect(x: r[0], y: r[1], width: r[2], height: r[3]) : nil }
        let result = try classifier.classify(jpeg: jpeg, regionOfInterest: roi)
        return Monitoring.Classification(label: result.label, scores: result.scores, milliseconds: result.milliseconds)
    }
}

/// The durable outbox: alarms as JSON, snapshots as JPEG plus a sidecar carrying the Ground Truth line.
struct OutboxAlarmSink: AlarmOutbox {
    let runtime: OutboxRuntime
    let uplink: UplinkSettings
    let outboxSettings: OutboxSettings
    let deviceID: String

    private func outbox() throws -> Outbox {
        guard let outbox = runtime.outbox else { throw DaemonError(component: "outbox", message: "the outbox is not open") }
        return outbox
    }

    func enqueueAlarm(_ event: AlarmEvent, provenance: Provenance) async throws -> String {
        let body = AlarmDocument(event: event, provenance: provenance)
        let json = try JSONEncoder.sorted.encode(body)
        let id = try outbox().enqueue(NewItem(kind: .alarm, createdAt: event.at, json: json, priority: .alarm))
        return id.description
    }

    func enqueueSnapshot(_ snapshot: SnapshotRecord) async throws -> String {
        let kind: ItemKind = snapshot.purpose == .sample ? .sample : .snapshot
        let id = ItemID.make(at: snapshot.capturedAt)
        let classification = snapshot.classification
        let label = classification?.label ?? "unknown"
        let labels = snapshot.provenance.labels
        let sidecar = SnapshotSidecar.make(
            id: id, kind: kind, deviceID: deviceID, capturedAt: snapshot.capturedAt, camera: snapshot.frame.camera,
            label: label, classIndex: labels.firstIndex(of: label) ?? -1, scores: classification?.scores ?? [:],
            qualityFlags: snapshot.frame.qualityFlags, modelSHA256: snapshot.provenance.modelSHA256, uplink: uplink)
        let json = try JSONEncoder.sorted.encode(SnapshotDocument(sidecar: sidecar, snapshot: snapshot))
        let priority: PriorityClass = snapshot.purpose == .alarm ? .alarm : .periodic
        let stored = try outbox().enqueue(NewItem(id: id, kind: kind, createdAt: snapshot.capturedAt, json: json,
                                                  jpeg: Data(snapshot.frame.jpeg), priority: priority))
        return stored.description
    }

    func fillFraction() async -> Double {
        guard let outbox = runtime.outbox else { return 0 }
        let status = outbox.status()
        let used = status.queuedBytes
        return outboxSettings.maxBytes > 0 ? Double(used) / Double(outboxSettings.maxBytes) : 0
    }
}

/// The JSON body of an alarm in the outbox and the bucket.
struct AlarmDocument: Encodable {
    let event: AlarmEvent
    let provenance: Provenance

    enum CodingKeys: String, CodingKey {
        case id, kind, subject, transition, severity, reason, values, thresholds, at, provenance
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(event.id, forKey: .id)
        try container.encode(event.kind, forKey: .kind)
        try container.encode(event.subject, forKey: .subject)
        try container.encode(event.transition.rawValue, forKey: .transition)
        try container.encode(event.severity.rawValue, forKey: .severity)
        try container.encode(event.reason, forKey: .reason)
        try container.encode(event.values, forKey: .values)
        try container.encode(event.thresholds, forKey: .thresholds)
        try container.encode(UTCTime(event.at).extended(), forKey: .at)
        try container.encode(provenance, forKey: .provenance)
    }
}

/// The JSON body of a snapshot: the outbox's sidecar (its keys), plus what the main job knows: why the frame
/// was kept, the capture, its alarms, provenance. Encoded in one pass rather than merged through
/// JSONSerialization, whose sorted keys compare with the current locale and so load ICU (about 3 MB resident).
struct SnapshotDocument: Encodable {
    let sidecar: SnapshotSidecar
    let snapshot: SnapshotRecord

    enum CodingKeys: String, CodingKey {
        case captureID = "capture_id", purpose, trigger, alarmIDs = "alarm_ids", note, provenance
    }

    func encode(to encoder: any Encoder) throws {
        try sidecar.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(snapshot.captureID, forKey: .captureID)
        try container.encode(snapshot.purpose.rawValue, forKey: .purpose)
        try container.encode(snapshot.trigger, forKey: .trigger)
        try container.encode(snapshot.alarmIDs, forKey: .alarmIDs)
        try container.encodeIfPresent(snapshot.note, forKey: .note)
        try container.encode(snapshot.provenance, forKey: .provenance)
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

/// SHA-256 of a file as hex, for provenance; nil when unreadable.
func fileSHA256(_ path: String) -> String? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    return Digest.sha256(data)
}
