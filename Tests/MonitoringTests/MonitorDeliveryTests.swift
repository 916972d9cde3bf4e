import Foundation
import Logging
import Monitoring
import Risk
import Synchronization
import TestSupport
import Testing

/// What the main job reports about its outbox deliveries: a refused snapshot per camera with the outbox's
/// code, and where each active alarm's document is. Fakes at the seams only (frames, classifier, outbox).
@Suite("monitor deliveries")
struct MonitorDeliveryTests {
    struct Frames: FrameSource {
        var cameraNames: [String] { ["downstream", "upstream"] }
        func capture(cameras: [String]?) async -> [CameraOutcome] {
            (cameras ?? cameraNames).map { .frame(CapturedFrame(camera: $0, jpeg: [0xFF, 0xD8, 0xFF, 0xD9], qualityFlags: [])) }
        }
    }

    /// Scores every frame `dirty` with the probability set.
    struct Classifier: FrameClassifier {
        let dirty: Double
        var labels: [String] { ["clean", "dirty"] }
        var modelSHA256: String { String(repeating: "0", count: 64) }
        var modelVersion: String? { "test" }
        func classify(jpeg: [UInt8], camera: String, regionOfInterest: [Double]?) async throws -> Classification {
            Classification(label: dirty >= 0.5 ? "dirty" : "clean", scores: ["clean": 1 - dirty, "dirty": dirty], milliseconds: 1)
        }
    }

    /// An outbox that accepts or refuses each kind as told, like the real one below its free-space floor.
    final class Outbox: AlarmOutbox {
        let refuse = Mutex((snapshots: false, alarms: false))
        let counter = Mutex(0)

        func next(_ prefix: String) -> String { counter.withLock { $0 += 1; return "\(prefix)-\($0)" } }

        func enqueueAlarm(_ event: AlarmEvent, provenance: Provenance) async throws -> String {
            if refuse.withLock({ $0.alarms }) { throw OutboxRefusal(code: "outbox_full", message: "alarm refused") }
            return next("alarm")
        }

        func enqueueSnapshot(_ snapshot: SnapshotRecord) async throws -> String {
            if refuse.withLock({ $0.snapshots }) {
                throw OutboxRefusal(code: "below_free_space_floor", message: "outbox: belowFreeSpaceFloor: snapshot refused")
            }
            return next("snapshot")
        }

        func fillFraction() async -> Double { 0 }
    }

    static func monitor(dirty: Double, outbox: Outbox, store: StateStore) -> Monitor {
        let risk = RiskSettings(camera: CameraRiskSettings(raiseThreshold: 0.7, clearThreshold: 0.3, required: 1, window: 1))
        let settings = MonitorSettings(risk: risk, alarmLabel: "dirty", schedule: CaptureSchedule(interval: 900, jitter: 0), samplesPerDay: 0)
        let provenance = Provenance(daemonVersion: "t", deviceID: "d", modelSHA256: "", modelVersion: nil, labels: ["clean", "dirty"],
                                    classifierCalibrationSHA256: "", riskCalibrationSHA256: "", configurationSHA256: "")
        return Monitor(settings: settings, frames: Frames(), classifier: Classifier(dirty: dirty), outbox: outbox, provenance: provenance,
                       store: store, logger: Logger(label: "risk"))
    }

    @Test("a manual capture whose snapshots the outbox refuses reports, per camera, no snapshot and the outbox's code")
    func refusedSnapshots() async throws {
        let dir = try TemporaryDirectory("monitor")
        defer { dir.remove() }
        let outbox = Outbox()
        let monitor = Self.monitor(dirty: 0.1, outbox: outbox, store: StateStore(path: dir.file("state.json")))
        outbox.refuse.withLock { $0.snapshots = true }
        let refused = await monitor.capture(trigger: "manual", upload: true)
        #expect(refused.cameras.map(\.snapshotID) == [nil, nil])
        #expect(refused.cameras.map { $0.snapshotError?.code } == ["below_free_space_floor", "below_free_space_floor"])

        outbox.refuse.withLock { $0.snapshots = false }
        let queued = await monitor.capture(trigger: "manual", upload: true)
        #expect(queued.cameras.allSatisfy { $0.snapshotID != nil && $0.snapshotError == nil })
    }

    @Test("an active alarm's latest document: queued under its outbox item, not queued while refused, unknown from an old state file")
    func alarmDelivery() async throws {
        let dir = try TemporaryDirectory("monitor")
        defer { dir.remove() }
        let outbox = Outbox()
        let store = StateStore(path: dir.file("state.json"))
        let monitor = Self.monitor(dirty: 0.95, outbox: outbox, store: store)
        outbox.refuse.withLock { $0.alarms = true }
        _ = await monitor.capture(trigger: "schedule")
        let alarm = try #require(await monitor.activeAlarms.first)
        #expect(await monitor.delivery(ofAlarm: alarm.id) == .notQueued)

        outbox.refuse.withLock { $0.alarms = false }
        _ = await monitor.capture(trigger: "schedule")
        guard case .queued(let itemID) = await monitor.delivery(ofAlarm: alarm.id) else {
            Issue.record("the retried alarm document is not recorded as queued")
            return
        }
        #expect(itemID.hasPrefix("alarm-"))

        // A restart keeps the record; a state file written before it existed still loads, without one.
        #expect(await Self.monitor(dirty: 0.95, outbox: outbox, store: store).delivery(ofAlarm: alarm.id) == .queued(itemID: itemID))
        var saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: store.path))) as? [String: Any] ?? [:]
        #expect(saved.removeValue(forKey: "alarmDocuments") != nil)
        try JSONSerialization.data(withJSONObject: saved).write(to: URL(fileURLWithPath: store.path))
        let restored = Self.monitor(dirty: 0.95, outbox: outbox, store: store)
        #expect(await restored.activeAlarms.map(\.id) == [alarm.id])
        #expect(await restored.delivery(ofAlarm: alarm.id) == .unknown)
    }
}
