import Foundation
import Logging
import Monitoring
import Risk
import Testing

/// What the main job reports about its deliveries to the queue: a refused snapshot per camera with the
/// outbox's code, and where each active alarm's document is. Fakes at the seams (Fakes.swift).
@Suite("monitor deliveries")
struct MonitorDeliveryTests {
    static func monitor(cameras: ScriptedCameras, queue: RecordingQueue, store: MemoryStateStore) -> Monitor {
        let risk = RiskSettings(camera: CameraRiskSettings(raiseThreshold: 0.7, clearThreshold: 0.3, required: 1, window: 1))
        let settings = MonitorSettings(risk: risk, alarmLabel: "dirty", schedule: CaptureSchedule(interval: 900, jitter: 0), samplesPerDay: 0)
        let provenance = Provenance(daemonVersion: "t", deviceID: "d", modelSHA256: "", modelVersion: nil, labels: ["clean", "dirty"],
                                    classifierCalibrationSHA256: "", riskCalibrationSHA256: "", configurationSHA256: "")
        return Monitor(settings: settings, frames: cameras, classifier: ScriptedClassifier(), queue: queue, provenance: provenance,
                       store: store, logger: Logger(label: "risk"))
    }

    @Test("a manual capture whose snapshots the outbox refuses reports, per camera, no snapshot and the outbox's code")
    func refusedSnapshots() async throws {
        let cameras = ScriptedCameras()
        let queue = RecordingQueue()
        let monitor = Self.monitor(cameras: cameras, queue: queue, store: MemoryStateStore())
        queue.refuseSnapshots(OutboxRefusal(code: "below_free_space_floor", message: "outbox: belowFreeSpaceFloor: snapshot refused"))
        let refused = await monitor.capture(trigger: "manual", upload: true)
        #expect(refused.cameras.map(\.snapshotID) == [nil, nil])
        #expect(refused.cameras.map { $0.snapshotError?.code } == ["below_free_space_floor", "below_free_space_floor"])

        queue.refuseSnapshots(nil)
        let queued = await monitor.capture(trigger: "manual", upload: true)
        #expect(queued.cameras.allSatisfy { $0.snapshotID != nil && $0.snapshotError == nil })
    }

    @Test("an active alarm's latest document: queued under its outbox item, not queued while refused, unknown from an old state file")
    func alarmDelivery() async throws {
        let cameras = ScriptedCameras()
        cameras.show(.frame(dirty: 0.95))
        let queue = RecordingQueue()
        let store = MemoryStateStore()
        let monitor = Self.monitor(cameras: cameras, queue: queue, store: store)
        queue.refuseAlarms(true)
        _ = await monitor.capture(trigger: "schedule")
        let alarm = try #require(await monitor.activeAlarms.first)
        #expect(await monitor.delivery(ofAlarm: alarm.id) == .notQueued)

        queue.refuseAlarms(false)
        _ = await monitor.capture(trigger: "schedule")
        guard case .queued(let itemID) = await monitor.delivery(ofAlarm: alarm.id) else {
            Issue.record("the retried alarm document is not recorded as queued")
            return
        }
        let alarmItems = queue.documents.filter { $0.kind == .alarm }.compactMap(\.id)
        #expect(alarmItems.contains(itemID))

        // A restart keeps the record; a state file written before it existed still loads, without one.
        #expect(await Self.monitor(cameras: cameras, queue: queue, store: store).delivery(ofAlarm: alarm.id) == .queued(itemID: itemID))
        var saved = try JSONSerialization.jsonObject(with: try #require(store.data)) as? [String: Any] ?? [:]
        #expect(saved.removeValue(forKey: "alarmDocuments") != nil)
        store.replace(with: try JSONSerialization.data(withJSONObject: saved))
        let restored = Self.monitor(cameras: cameras, queue: queue, store: store)
        #expect(await restored.activeAlarms.map(\.id) == [alarm.id])
        #expect(await restored.delivery(ofAlarm: alarm.id) == .unknown)
    }
}
