import Foundation
import Risk
import Timestamps

// The documents the main job queues, byte for byte: alarm events, and snapshots with their sidecars. What a
// facility manager finds in the bucket is decided here, together with each document's kind and priority.

extension SnapshotPurpose {
    /// Samples have their own folder and go first when the disk is full; alarm snapshots go last.
    var document: (kind: DocumentKind, priority: DocumentPriority) {
        switch self {
        case .alarm: return (.snapshot, .alarm)
        case .periodic: return (.snapshot, .periodic)
        case .sample: return (.sample, .periodic)
        }
    }
}

/// The JSON stored next to a snapshot's or sample's JPEG: what was seen, by which model, and a SageMaker Ground Truth
/// image-classification manifest line pointing at the JPEG's own object, which the toolchain's `build-manifest`
/// copies as is into a manifest that Ground Truth or Rekognition Custom Labels imports.
public struct SnapshotSidecar: Sendable, Equatable, Codable {
    public var itemID: String
    public var deviceID: String
    /// Capture time, ISO 8601 UTC with milliseconds.
    public var capturedAt: String
    public var camera: String
    /// The classifier's predicted label (`clean`, `dirty`).
    public var label: String
    /// Score per label.
    public var scores: [String: Double]
    /// Frame quality findings (`dark`, `blurred`, `overexposed`); empty when the frame is fine.
    public var qualityFlags: [String]
    /// SHA-256 of the model file that classified the frame.
    public var modelSHA256: String
    public var groundTruth: GroundTruthLine

    enum CodingKeys: String, CodingKey {
        case itemID = "item_id", deviceID = "device_id", capturedAt = "captured_at", camera, label, scores
        case qualityFlags = "quality_flags", modelSHA256 = "model_sha256", groundTruth = "ground_truth"
    }

    /// Builds the sidecar for a reserved id, pointing at the JPEG's own object.
    public static func make(
        reservation: DocumentReservation, deviceID: String, capturedAt: Date, camera: String, label: String, classIndex: Int,
        scores: [String: Double], qualityFlags: [String], modelSHA256: String, labelAttribute: String
    ) -> SnapshotSidecar {
        let line = GroundTruthLine(
            sourceRef: reservation.jpegReference, labelAttribute: labelAttribute, classIndex: classIndex, className: label,
            confidence: scores[label] ?? 0, creationDate: GroundTruthLine.creationDate(capturedAt), jobName: "labeling-job/remotair-\(deviceID)")
        return SnapshotSidecar(
            itemID: reservation.id, deviceID: deviceID, capturedAt: isoMillis(capturedAt), camera: camera, label: label, scores: scores,
            qualityFlags: qualityFlags, modelSHA256: modelSHA256, groundTruth: line)
    }

    /// The JSON body alone (the queued document adds the main job's facts to it).
    public func encoded() throws -> Data {
        try JSONEncoder.documents.encode(self)
    }

    static func isoMillis(_ date: Date) -> String {
        UTCTime(date).extended(fractionDigits: 3)
    }
}

/// One line of a Ground Truth image-classification output manifest:
/// `{"source-ref": "s3://bucket/key.jpg", "<attr>": 1, "<attr>-metadata": {"class-name": ..., "confidence": ...,
/// "human-annotated": "no", "creation-date": ..., "type": "groundtruth/image-classification", "job-name": ...}}`.
public struct GroundTruthLine: Sendable, Equatable, Codable {
    public var sourceRef: String
    /// The label attribute name (`duct-condition` by default; `uplink.label_attribute`).
    public var labelAttribute: String
    public var classIndex: Int
    public var className: String
    public var confidence: Double
    /// `2026-11-27T10:00:00.000000` (UTC, microseconds, no zone: the format Ground Truth writes).
    public var creationDate: String
    public var jobName: String
    public var humanAnnotated = "no"
    public var type = "groundtruth/image-classification"

    public init(sourceRef: String, labelAttribute: String, classIndex: Int, className: String, confidence: Double, creationDate: String, jobName: String) {
        self.sourceRef = sourceRef
        self.labelAttribute = labelAttribute
        self.classIndex = classIndex
        self.className = className
        self.confidence = confidence
        self.creationDate = creationDate
        self.jobName = jobName
    }

    public static func creationDate(_ date: Date) -> String {
        UTCTime(date).extended(fractionDigits: 6, zone: false)
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(sourceRef, forKey: Key("source-ref"))
        try container.encode(classIndex, forKey: Key(labelAttribute))
        var metadata = container.nestedContainer(keyedBy: Key.self, forKey: Key(labelAttribute + "-metadata"))
        try metadata.encode(className, forKey: Key("class-name"))
        try metadata.encode(confidence, forKey: Key("confidence"))
        try metadata.encode(humanAnnotated, forKey: Key("human-annotated"))
        try metadata.encode(creationDate, forKey: Key("creation-date"))
        try metadata.encode(type, forKey: Key("type"))
        try metadata.encode(jobName, forKey: Key("job-name"))
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        sourceRef = try container.decode(String.self, forKey: Key("source-ref"))
        guard let metadataKey = container.allKeys.first(where: { $0.stringValue.hasSuffix("-metadata") }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: container.codingPath, debugDescription: "no <attribute>-metadata key"))
        }
        labelAttribute = String(metadataKey.stringValue.dropLast("-metadata".count))
        classIndex = try container.decode(Int.self, forKey: Key(labelAttribute))
        let metadata = try container.nestedContainer(keyedBy: Key.self, forKey: metadataKey)
        className = try metadata.decode(String.self, forKey: Key("class-name"))
        confidence = try metadata.decode(Double.self, forKey: Key("confidence"))
        humanAnnotated = try metadata.decode(String.self, forKey: Key("human-annotated"))
        creationDate = try metadata.decode(String.self, forKey: Key("creation-date"))
        type = try metadata.decode(String.self, forKey: Key("type"))
        jobName = try metadata.decode(String.self, forKey: Key("job-name"))
    }
}

/// The JSON body of an alarm in the queue and the bucket.
struct AlarmDocument: Encodable {
    let event: AlarmEvent
    let provenance: Provenance

    enum CodingKeys: String, CodingKey {
        case id, kind, subject, transition, severity, reason, values, thresholds, at, provenance
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(event.id, forKey: .id)
        try container.encode(event.kind.rawValue, forKey: .kind)
        try container.encode(event.subject, forKey: .subject)
        try container.encode(event.transition.rawValue, forKey: .transition)
        try container.encode(event.severity.rawValue, forKey: .severity)
        try container.encode(event.reason, forKey: .reason)
        try container.encode(event.values, forKey: .values)
        try container.encode(event.thresholds, forKey: .thresholds)
        try container.encode(UTCTime(event.at).extended(), forKey: .at)
        try container.encode(provenance, forKey: .provenance)
    }

    func queued() throws -> QueuedDocument {
        QueuedDocument(kind: .alarm, priority: .alarm, createdAt: event.at, json: try JSONEncoder.documents.encode(self))
    }
}

/// The JSON body of a snapshot: the sidecar (its keys), plus what the main job knows: why the frame was
/// kept, the capture, its alarms, provenance. Encoded in one pass rather than merged through
/// JSONSerialization, whose sorted keys compare with the current locale and so load ICU (about 3 MB resident).
struct SnapshotDocument: Encodable {
    let sidecar: SnapshotSidecar
    let snapshot: SnapshotRecord

    /// The label a snapshot carries when no classification came with it.
    static let unknownLabel = "unknown"

    enum CodingKeys: String, CodingKey {
        case captureID = "capture_id", purpose, trigger, alarmIDs = "alarm_ids", note, provenance
    }

    /// The document for a snapshot, under a reserved id.
    init(snapshot: SnapshotRecord, reservation: DocumentReservation, labelAttribute: String) {
        let classification = snapshot.classification
        let label = classification?.label ?? Self.unknownLabel
        sidecar = SnapshotSidecar.make(
            reservation: reservation, deviceID: snapshot.provenance.deviceID, capturedAt: snapshot.capturedAt, camera: snapshot.frame.camera,
            label: label, classIndex: snapshot.provenance.labels.firstIndex(of: label) ?? -1, scores: classification?.scores ?? [:],
            qualityFlags: snapshot.frame.qualityFlags, modelSHA256: snapshot.provenance.modelSHA256, labelAttribute: labelAttribute)
        self.snapshot = snapshot
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

    func queued() throws -> QueuedDocument {
        let lane = snapshot.purpose.document
        return QueuedDocument(id: sidecar.itemID, kind: lane.kind, priority: lane.priority, createdAt: snapshot.capturedAt,
                              json: try JSONEncoder.documents.encode(self), jpeg: Data(snapshot.frame.jpeg))
    }
}

extension JSONEncoder {
    /// Queued documents: sorted keys, slashes as they are (object references read as written).
    static var documents: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
