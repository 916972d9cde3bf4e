import Foundation
import Logging
@testable import Monitoring
import Risk
import Testing

/// The whole main job in process: scripted cameras -> quality gate flags -> classifier -> risk engine ->
/// alarm documents and snapshots in the queue, with a scripted clock. No process, no timing.
@Suite("main job: captures to queued alarms and snapshots")
struct MainJobTests {
    /// One board: the monitor over fakes, and the fakes to drive and inspect.
    struct Board {
        let clock = ScriptedClock(day0)
        let cameras = ScriptedCameras()
        let queue = RecordingQueue()
        let store: MemoryStateStore
        let settings: MonitorSettings
        var monitor: Monitor

        init(fusion: FusionPolicy = .any, samplesPerDay: Int = 0, store: MemoryStateStore = MemoryStateStore()) {
            self.store = store
            let risk = RiskSettings(
                camera: CameraRiskSettings(raiseThreshold: 0.6, clearThreshold: 0.4, required: 2, window: 3), fusion: fusion,
                airQuality: ["pm2_5": LevelRuleSettings(warn: 25, alarm: 50, clear: 20, sustain: 60)],
                cameraOfflineAfter: 300, sensorFaultedAfter: 300, lensBlockedCaptures: 2, outboxFullFraction: 0.9)
            settings = MonitorSettings(risk: risk, alarmLabel: "dirty", schedule: CaptureSchedule(interval: 900, jitter: 0),
                                       snapshotInterval: 86400, sampleBand: 0.1, samplesPerDay: samplesPerDay, labelAttribute: "duct-condition")
            monitor = Board.makeMonitor(settings: settings, cameras: cameras, queue: queue, store: store, clock: clock)
        }

        static func makeMonitor(settings: MonitorSettings, cameras: ScriptedCameras, queue: RecordingQueue, store: MemoryStateStore,
                                clock: ScriptedClock) -> Monitor {
            let provenance = Provenance(
                daemonVersion: "9.9.9", deviceID: "rx-7", modelSHA256: String(repeating: "ab", count: 32), modelVersion: "test-1",
                labels: ["clean", "dirty"], classifierCalibrationSHA256: "c1", riskCalibrationSHA256: "r1", configurationSHA256: "f1")
            return Monitor(settings: settings, frames: cameras, classifier: ScriptedClassifier(), queue: queue, provenance: provenance,
                           store: store, logger: Logger(label: "test"), now: { clock.now })
        }

        /// A daemon restart: a new monitor over the same state store and queue.
        mutating func restart() {
            monitor = Board.makeMonitor(settings: settings, cameras: cameras, queue: queue, store: store, clock: clock)
        }

        /// The next scheduled capture, 15 minutes after the last.
        func capture(_ scene: Scene? = nil, on camera: String? = nil) async -> CaptureReport {
            if let scene { cameras.show(scene, on: camera) }
            let report = await monitor.capture(trigger: "schedule")
            clock.advance(by: 900)
            return report
        }

        func alarmTransitions() throws -> [String] {
            try queue.alarms().map { "\($0["kind"] as? String ?? "?") \($0["transition"] as? String ?? "?")" }
        }
    }

    @Test("a dirty duct is raised on the second dirty capture with both cameras' snapshots, and cleared the same way")
    func raiseAndClearDuct() async throws {
        let board = Board()
        let first = await board.capture(.frame(dirty: 0.9))
        #expect(first.alarms.isEmpty, "one dirty capture of the required two raises nothing")
        #expect(first.cameras.map(\.verdict) == [.scored, .scored])
        // The first capture of the day keeps each camera's periodic snapshot.
        #expect(board.queue.documents.map { "\($0.kind.rawValue)/\($0.priority.rawValue)" } == ["snapshot/periodic", "snapshot/periodic"])

        let second = await board.capture()
        #expect(second.alarms.map(\.transition) == [.raised])
        let alarmID = try #require(second.alarms.first?.id)
        #expect(try board.alarmTransitions() == ["duct_dirty raised"])
        let alarm = try #require(try board.queue.alarms().first)
        #expect(alarm["id"] as? String == alarmID)
        #expect(alarm["severity"] as? String == "alarm")
        #expect((alarm["reason"] as? String)?.contains("camera downstream and upstream") == true)
        #expect((alarm["provenance"] as? [String: Any])?["device_id"] as? String == "rx-7")

        // Both cameras' frames travel with the alarm, at alarm priority, each sidecar naming its own JPEG.
        let alarmSnapshots = board.queue.documents.filter { $0.kind == .snapshot && $0.priority == .alarm }
        #expect(alarmSnapshots.count == 2)
        for document in alarmSnapshots {
            let body = try board.queue.json(document)
            #expect(body["alarm_ids"] as? [String] == [alarmID])
            #expect(body["purpose"] as? String == "alarm")
            #expect(body["label"] as? String == "dirty")
            let line = try #require(body["ground_truth"] as? [String: Any])
            #expect(line["source-ref"] as? String == "s3://test-bucket/snapshot/\(document.id ?? "-").jpg")
            #expect(line["duct-condition"] as? Int == 1)
            #expect(document.jpeg.map { String(decoding: $0, as: UTF8.self).hasSuffix("p=0.9") } == true)
        }
        #expect(Set(second.cameras.compactMap(\.snapshotID)) == Set(alarmSnapshots.compactMap(\.id)))

        // Dirty again: the alarm stays raised, nothing new is queued.
        let countWhileDirty = board.queue.documents.count
        _ = await board.capture()
        #expect(board.queue.documents.count == countWhileDirty)
        #expect(await board.monitor.overall == .alarm)

        _ = await board.capture(.frame(dirty: 0.1))
        let cleared = await board.capture()
        #expect(cleared.alarms.map(\.transition) == [.cleared])
        #expect(cleared.alarms.first?.id == alarmID, "the id is stable from raise to clear")
        #expect(try board.alarmTransitions() == ["duct_dirty raised", "duct_dirty cleared"])
        #expect(board.queue.documents.filter { $0.kind == .snapshot && $0.priority == .alarm }.count == 4)
        #expect(await board.monitor.activeAlarms.isEmpty)
    }

    @Test("an air-quality alarm is raised, updated to a higher severity and cleared, fed by the risk feed")
    func raiseUpdateClearAirQuality() async throws {
        let board = Board()
        _ = await board.capture()  // frames to attach to alarms that do not come from a capture
        let inputs = ScriptedInputs()
        var feed = RiskFeedService.Feed()
        func reading(_ value: Double) async {
            inputs.set(readings: [MetricReading(sensorID: "sps30", metric: "pm2_5", value: value, unit: "µg/m³", timestamp: board.clock.now)])
            await feed.pass(monitor: board.monitor, inputs: inputs)
            board.clock.advance(by: 30)
        }
        await reading(30)
        await reading(30)
        #expect(try board.alarmTransitions().isEmpty, "warn level held 30 s of the 60 s sustain")
        await reading(30)
        #expect(try board.alarmTransitions() == ["air_quality raised"])
        // A feed pass that sees the same reading again (no new timestamp) changes nothing.
        await feed.pass(monitor: board.monitor, inputs: inputs)
        await reading(60)
        await reading(60)
        await reading(60)
        #expect(try board.alarmTransitions() == ["air_quality raised", "air_quality updated"])
        let alarms = try board.queue.alarms()
        #expect(alarms.map { $0["severity"] as? String } == ["warning", "alarm"])
        #expect(alarms[0]["id"] as? String == alarms[1]["id"] as? String)
        #expect(await board.monitor.overall == .alarm)

        for _ in 0..<4 { await reading(10) }
        #expect(try board.alarmTransitions() == ["air_quality raised", "air_quality updated", "air_quality cleared"])
        // Raised and cleared carry the latest frame of each camera; an update carries none.
        let attached = try board.queue.snapshots().filter { $0["purpose"] as? String == "alarm" }
        #expect(attached.count == 4)
    }

    @Test("cameras that disagree: `any` raises naming the dirty one, `all` raises nothing and keeps both as samples")
    func camerasDisagree() async throws {
        let any = Board()
        any.cameras.show(.frame(dirty: 0.1), on: "downstream")
        _ = await any.capture(.frame(dirty: 0.9), on: "upstream")
        let raised = await any.capture()
        #expect(raised.alarms.map(\.kind) == [.ductDirty])
        #expect(raised.alarms.first?.reason.contains("camera upstream (") == true)
        #expect(raised.cameras.map(\.label) == ["clean", "dirty"])

        // The daily cap counts the first capture's pair too, though the periodic snapshots stand in for them.
        let all = Board(fusion: .all, samplesPerDay: 6)
        all.cameras.show(.frame(dirty: 0.1), on: "downstream")
        _ = await all.capture(.frame(dirty: 0.9), on: "upstream")
        _ = await all.capture()
        _ = await all.capture()
        _ = await all.capture()
        #expect(try all.queue.alarms().isEmpty)
        let samples = all.queue.documents.filter { $0.kind == .sample }
        #expect(samples.count == 4, "both cameras of each disagreeing capture after the periodic one, until the cap of 6")
        #expect(samples.allSatisfy { $0.priority == .periodic })
        #expect(try samples.map { try all.queue.json($0)["purpose"] as? String } == Array(repeating: "sample", count: 4))
    }

    @Test("a blocked lens is its own warning, never a dirty duct, and clears when frames are usable again")
    func blockedLens() async throws {
        let board = Board()
        board.cameras.show(.frame(dirty: 0.1), on: "downstream")
        // The classifier would call the covered lens dirty; the quality gate's flag wins.
        let first = await board.capture(.frame(dirty: 0.95, flags: ["lens_blocked"]), on: "upstream")
        #expect(first.cameras.map(\.verdict) == [.scored, .unusable])
        #expect(first.cameras[1].qualityFlags == ["lens_blocked"])
        #expect(first.alarms.isEmpty)
        let second = await board.capture()
        #expect(second.alarms.map { "\($0.kind) \($0.subject) \($0.severity.rawValue)" } == ["lens_blocked upstream warning"])
        _ = await board.capture()
        #expect(try board.alarmTransitions() == ["lens_blocked raised"])

        let usable = await board.capture(.frame(dirty: 0.1), on: "upstream")
        #expect(usable.alarms.map(\.transition) == [.cleared])
        #expect(try board.alarmTransitions() == ["lens_blocked raised", "lens_blocked cleared"])
    }

    @Test("an alarm the queue refuses is kept, survives a restart, and is queued once when the queue accepts again")
    func refusedAlarmIsRetried() async throws {
        var board = Board()
        board.queue.refuseAlarms(true)
        _ = await board.capture(.frame(dirty: 0.9))
        let raised = await board.capture()
        let id = try #require(raised.alarms.first?.id)
        #expect(try board.alarmTransitions().isEmpty)
        #expect(board.queue.documents.filter { $0.priority == .alarm }.isEmpty, "no snapshot claims an alarm that is not queued")
        _ = await board.capture()
        #expect(try board.alarmTransitions().isEmpty, "still refused")

        board.restart()
        board.queue.refuseAlarms(false)
        _ = await board.capture()
        let alarms = try board.queue.alarms()
        #expect(alarms.map { $0["id"] as? String } == [id], "delivered exactly once, with the id it was raised with")
        #expect(alarms.first?["transition"] as? String == "raised")
        _ = await board.capture()
        #expect(try board.queue.alarms().count == 1)
    }

    @Test("a restart in the middle neither raises an alarm again nor forgets it")
    func restartKeepsAlarms() async throws {
        var board = Board()
        _ = await board.capture(.frame(dirty: 0.9))
        _ = await board.capture()
        let id = try #require(await board.monitor.activeAlarms.first?.id)
        // Halfway through the evidence for the clear: one clean capture before the restart, one after.
        _ = await board.capture(.frame(dirty: 0.1))

        board.restart()
        #expect(await board.monitor.activeAlarms.map(\.id) == [id])
        #expect(await board.monitor.overall == .alarm)
        let after = await board.capture()
        #expect(after.alarms.map(\.transition) == [.cleared], "the clean capture before the restart still counts")
        #expect(try board.alarmTransitions() == ["duct_dirty raised", "duct_dirty cleared"])
        #expect(try board.queue.alarms().last?["id"] as? String == id)
    }

    @Test("an unreadable state file is set aside and the job starts fresh")
    func corruptState() async throws {
        let store = MemoryStateStore()
        store.corrupt()
        let board = Board(store: store)
        #expect(store.setAsideCount == 1)
        #expect(await board.monitor.activeAlarms.isEmpty)
        _ = await board.capture()
        #expect(store.data != nil, "the next capture saves a fresh state")
    }

    @Test("the feed: only a faulted sensor and an offline or absent camera count, after their hold time; a full queue raises outbox_full")
    func deviceStates() async throws {
        let board = Board()
        let inputs = ScriptedInputs()
        var feed = RiskFeedService.Feed()
        inputs.set(sensors: [SensorReport(id: "sps30", condition: .stale, serial: "S1"), SensorReport(id: "scd4x", condition: .faulted)],
                   cameras: [CameraReport(name: "upstream", condition: .degraded), CameraReport(name: "downstream", condition: .offline)])
        board.queue.setFill(0.95)
        await feed.pass(monitor: board.monitor, inputs: inputs)
        #expect(try board.alarmTransitions() == ["outbox_full raised"])
        board.clock.advance(by: 301)
        await feed.pass(monitor: board.monitor, inputs: inputs)
        #expect(Set(try board.alarmTransitions()) == ["outbox_full raised", "camera_offline raised", "sensor_faulted raised"])
        let subjects = try board.queue.alarms().map { $0["subject"] as? String }
        #expect(Set(subjects) == ["outbox", "downstream", "scd4x"])
        #expect(await board.monitor.currentProvenance.sensorSerials == ["sps30": "S1"])
    }
}
