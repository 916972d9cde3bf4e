import Foundation
import Testing
import TestSupport

/// The whole daemon on the simulated board, driven by a scenario: real JPEG frames, the real classifier and
/// model, the real outbox and the file:// uplink. Intervals are seconds so each test runs in well under a minute.
/// The main job's cases (raise, update, clear, disagreeing cameras, blocked lens, refused alarms, restarts,
/// offline devices) are tested in process in MonitoringTests; this is the one run through the whole process.
@Suite("scenarios end to end", .serialized)
struct ScenarioEndToEndTests {
    /// A simulated board with fast captures and rules shrunk to match.
    struct Board {
        let dir: TemporaryDirectory
        let config: String
        var uploads: String { dir.file("uploads") }

        init(scenario: String, riskOverrides: String = "", extra: String = "") throws {
            dir = try TemporaryDirectory("remotaird-scenario")
            let risk = try dir.write("risk.yaml", """
                cameras: {window: 3, required: 2, min_dwell: 0s, fusion: any}
                air_quality:
                  pm2_5: {warn: 25, alarm: 50, clear: 20, for: 2s}
                devices: {camera_offline_after: 4s, sensor_faulted_after: 4s, lens_blocked_captures: 3}
                \(riskOverrides)
                """)
            config = try dir.write("r.yaml", """
                device_id: e2e-board
                board: simulated
                state_dir: \(dir.file("state"))
                runtime_dir: \(dir.file("run"))
                calibration_dir: \(PackagePaths.root)/Calibration
                risk_file: \(risk)
                capture: {interval: 1s, jitter: 0s, first_capture_after: 500ms, snapshot_interval: 1d, samples_per_day: 0}
                simulation:
                  frames_dir: \(PackagePaths.root)/Calibration/simulation/frames
                  scenario: \(scenario)
                sensors:
                  devices:
                    - {id: sps30, type: sps30, bus: sim-i2c-1, interval: 1s}
                cameras:
                  reopen_backoff_max: 1s
                  devices:
                    - {name: upstream, device: "sim:upstream", replay_scene: clean, warmup_frames: 0, timeout: 3s, offline_alarm_after: 4s}
                    - {name: downstream, device: "sim:downstream", replay_scene: clean, warmup_frames: 0, timeout: 3s, offline_alarm_after: 4s}
                control: {group: nogroup}
                uplink: {endpoint: "file://\(dir.file("uploads"))", bucket: e2e-bucket}
                \(extra)
                """)
        }

        /// Uploaded alarm documents, by transition.
        func alarms() throws -> [[String: Any]] {
            try uploadedJSON(kind: "alarm")
        }

        func uploadedJSON(kind: String) throws -> [[String: Any]] {
            let root = URL(fileURLWithPath: uploads)
            guard let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
            var documents: [[String: Any]] = []
            for case let file as URL in files where file.pathExtension == "json" && file.path.contains("/\(kind)/") {
                if let object = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any] { documents.append(object) }
            }
            return documents
        }

        func run(until condition: @escaping () throws -> Bool, timeout: Duration) async throws -> ChildProcess {
            let daemon = ChildProcess(PackagePaths.executable("remotaird"), ["run", "--config", config], environment: ["PATH": "/usr/bin:/bin"])
            try daemon.start()
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline, daemon.process.isRunning {
                if (try? condition()) == true { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            daemon.signal(SIGTERM)
            _ = await daemon.wait(timeout: .seconds(15))
            return daemon
        }
    }

    @Test("getting dirty raises exactly one duct_dirty alarm with both snapshots uploaded, and clears it after cleaning")
    func gettingDirty() async throws {
        let board = try Board(scenario: "getting-dirty")
        defer { board.dir.remove() }
        let daemon = try await board.run(until: {
            try board.alarms().contains { $0["kind"] as? String == "duct_dirty" && $0["transition"] as? String == "cleared" }
        }, timeout: .seconds(90))
        let dirty = try board.alarms().filter { $0["kind"] as? String == "duct_dirty" }
        #expect(dirty.compactMap { $0["transition"] as? String }.sorted() == ["cleared", "raised"], "\(daemon.stderr.suffix(3000))")
        #expect(Set(dirty.compactMap { $0["id"] as? String }).count == 1, "raise and clear share one alarm id")
        let provenance = dirty.first?["provenance"] as? [String: Any]
        #expect((provenance?["model_sha256"] as? String)?.count == 64)
        #expect(provenance?["device_id"] as? String == "e2e-board")
        #expect((provenance?["sensor_serials"] as? [String: String])?["sps30"]?.isEmpty == false)

        let snapshots = try board.uploadedJSON(kind: "snapshot")
        let raisedID = dirty.first { $0["transition"] as? String == "raised" }?["id"] as? String
        let alarmSnapshots = snapshots.filter { ($0["alarm_ids"] as? [String])?.contains(raisedID ?? "?") == true }
        // Both cameras' snapshots go with the raise (dirty frames) and with the clear (clean frames).
        let dirtyFrames = alarmSnapshots.filter { $0["label"] as? String == "dirty" }
        let cleanFrames = alarmSnapshots.filter { $0["label"] as? String == "clean" }
        #expect(dirtyFrames.compactMap { $0["camera"] as? String }.sorted() == ["downstream", "upstream"])
        #expect(cleanFrames.compactMap { $0["camera"] as? String }.sorted() == ["downstream", "upstream"])
        for snapshot in alarmSnapshots {
            let truth = snapshot["ground_truth"] as? [String: Any]
            #expect((truth?["source-ref"] as? String)?.hasPrefix("s3://e2e-bucket/") == true)
            #expect(snapshot["purpose"] as? String == "alarm")
            // The JPEG the sidecar points at was uploaded next to it.
            let id = snapshot["item_id"] as? String ?? "?"
            let jpegs = FileManager.default.enumerator(atPath: board.uploads)?.compactMap { $0 as? String }.filter { $0.hasSuffix("\(id).jpg") } ?? []
            #expect(jpegs.count == 1)
        }
    }

    @Test("an unknown scenario is refused at start-up, naming it")
    func unknownScenario() async throws {
        let board = try Board(scenario: "flood")
        defer { board.dir.remove() }
        let (status, _, stderr) = try await ChildProcess.run(PackagePaths.executable("remotaird"), ["run", "--config", board.config])
        #expect(status == 1)
        #expect(stderr.contains("simulation.scenario: no scenario named 'flood'"))
    }
}

@Suite("hot reload", .serialized)
struct ReloadTests {
    @Test("a reload with a broken model keeps the running one; a good reload swaps it")
    func brokenModelKeepsOld() async throws {
        let dir = try TemporaryDirectory("remotaird-reload")
        defer { dir.remove() }
        let calibration = dir.file("calibration")
        try FileManager.default.copyItem(atPath: PackagePaths.root + "/Calibration", toPath: calibration)
        let config = try dir.write("r.yaml", """
            device_id: reload-board
            board: simulated
            state_dir: \(dir.file("state"))
            runtime_dir: \(dir.file("run"))
            calibration_dir: \(calibration)
            capture: {interval: 1s, jitter: 0s, first_capture_after: 500ms}
            simulation: {frames_dir: \(PackagePaths.root)/Calibration/simulation/frames}
            cameras:
              devices:
                - {name: upstream, device: "sim:upstream", replay_scene: clean, warmup_frames: 0, timeout: 3s}
            control: {group: nogroup}
            uplink: {endpoint: "file://\(dir.file("uploads"))", bucket: reload-bucket}
            """)
        let daemon = ChildProcess(PackagePaths.executable("remotaird"), ["run", "--config", config], environment: ["PATH": "/usr/bin:/bin"])
        try daemon.start()
        defer { if daemon.process.isRunning { daemon.signal(SIGKILL) } }
        #expect(await daemon.waitForStderr("risk: capture", timeout: .seconds(30)))

        // Break the model in place (a bad copy during an update), then ask for a reload.
        let model = calibration + "/duct-classifier.onnx"
        let good = try Data(contentsOf: URL(fileURLWithPath: model))
        try Data(good.prefix(good.count / 3)).write(to: URL(fileURLWithPath: model))
        let socket = dir.file("run/control.sock")
        let ctl = PackagePaths.executable("remotairctl")
        let (status, _, stderr) = try await ChildProcess.run(ctl, ["reload", "--socket", socket])
        #expect(status == 1)
        #expect(stderr.contains("reload refused"), "\(stderr)")
        #expect(daemon.stderr.contains("reload refused; keeping the running model and calibration"))

        // Captures go on with the old model.
        let before = daemon.stderr.components(separatedBy: "risk: capture").count
        try await Task.sleep(for: .seconds(3))
        #expect(daemon.stderr.components(separatedBy: "risk: capture").count > before)

        // Restore the model: SIGHUP now reloads.
        try good.write(to: URL(fileURLWithPath: model))
        daemon.signal(SIGHUP)
        #expect(await daemon.waitForStderr("reload: reloaded", timeout: .seconds(20)), "\(daemon.stderr.suffix(2000))")
        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(15)) == 0)
    }
}
