#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport

/// The real daemon on the simulated board answering what really happened to its uploads: a manual capture
/// whose snapshots the outbox refused (a state directory below the free-space floor), and an alarm whose
/// document reached the file:// bucket; and a camera that gave no frame, which has no timings to report.
@Suite("daemon upload state", .serialized)
struct UploadStateTests {
    static let environment = ["PATH": "/usr/bin:/bin"]

    /// A state directory the outbox must refuse snapshots in: a 3 MB tmpfs (far below the default 256 MB
    /// floor) when we may mount one (root, as in CI), else the floor raised above what the disk has free.
    struct TinyStateDirectory {
        let path: String
        let mounted: Bool
        let outboxSettings: String

        init(in dir: TemporaryDirectory) async throws {
            path = dir.file("state")
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            if geteuid() == 0,
               (try? await ChildProcess.run("/bin/mount", ["-t", "tmpfs", "-o", "size=3m,mode=0755", "tmpfs", path]).0) == 0 {
                mounted = true
                outboxSettings = ""
            } else {
                mounted = false
                // Periodic (and manual) snapshots are refused below half the floor: 512 GB.
                var info = statvfs()
                #expect(statvfs(path, &info) == 0)
                #expect(Int64(info.f_bavail) * Int64(info.f_frsize) < 512 << 30, "this disk has more free than the largest floor")
                outboxSettings = "outbox: {free_space_floor: 1024GB}"
            }
        }

        /// Unmounts the tmpfs; synchronous so a `defer` runs it even when an expectation fails midway.
        func remove() {
            if mounted { _ = umount(path) }
        }
    }

    @Test("a manual capture the outbox refuses: each camera says not queued and why, remotairctl exits 1, status shows the outbox refusing")
    func refusedManualCapture() async throws {
        let dir = try TemporaryDirectory("remotaird-refuse")
        defer { dir.remove() }
        let state = try await TinyStateDirectory(in: dir)
        defer { state.remove() }
        let socket = dir.file("run/control.sock")
        let config = try dir.write("r.yaml", """
            device_id: tiny-board
            runtime_dir: \(dir.file("run"))
            calibration_dir: \(PackagePaths.root)/Calibration
            capture: {interval: 1h, first_capture_after: 1h}
            simulation: {frames_dir: \(PackagePaths.root)/Calibration/simulation/frames}
            cameras:
              devices:
                - {name: upstream, device: "sim:upstream", replay_scene: clean, warmup_frames: 0, timeout: 3s}
                - {name: downstream, device: "sim:downstream", replay_scene: clean, warmup_frames: 0, timeout: 3s}
            control: {group: nogroup}
            \(state.outboxSettings)
            """)
        let daemon = ChildProcess(PackagePaths.executable("remotaird"), ["run", "--simulate", "--config", config, "--state-dir", state.path],
                                  environment: Self.environment)
        try daemon.start()
        defer { if daemon.process.isRunning { daemon.signal(SIGKILL) } }
        #expect(await daemon.waitForStderr("control: listening", timeout: .seconds(30)), "\(daemon.stderr)")

        let remotairctl = PackagePaths.executable("remotairctl")
        let (status, stdout, stderr) = try await ChildProcess.run(
            remotairctl, ["capture", "--note", "after cleaning", "--socket", socket], environment: Self.environment)
        #expect(status == 1, "\(stdout)\(stderr)")
        #expect(stdout.contains("upstream: snapshot not queued for upload: below_free_space_floor"), "\(stdout)")
        #expect(stdout.contains("downstream: snapshot not queued for upload: below_free_space_floor"), "\(stdout)")
        #expect(stdout.contains("snapshots of upstream, downstream NOT queued for upload"), "\(stdout)")
        #expect(!stdout.contains("snapshots queued for upload"))

        let (jsonStatus, json, _) = try await ChildProcess.run(remotairctl, ["capture", "--json", "--socket", socket], environment: Self.environment)
        #expect(jsonStatus == 1)
        let answer = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let result = answer?["result"] as? [String: Any]
        #expect(result?["upload"] as? Bool == false, "\(json)")
        let cameras = result?["cameras"] as? [[String: Any]] ?? []
        #expect(cameras.count == 2)
        for camera in cameras {
            #expect(camera["snapshot_queued"] as? Bool == false, "\(camera)")
            #expect(camera["snapshot_id"] == nil)
            #expect((camera["snapshot_error"] as? [String: Any])?["code"] as? String == "below_free_space_floor", "\(camera)")
        }

        let (statusCode, statusOut, _) = try await ChildProcess.run(remotairctl, ["status", "--socket", socket], environment: Self.environment)
        #expect(statusCode == 0)
        #expect(statusOut.hasPrefix("tiny-board  degraded"), "\(statusOut)")
        let outboxLine = statusOut.split(separator: "\n").first { $0.hasPrefix("outbox ") }.map(String.init) ?? ""
        #expect(outboxLine.contains("refusing"), "\(statusOut)")
        #expect(outboxLine.contains("refusing=snapshot:below_free_space_floor"), "\(statusOut)")

        // version names the calibration the main job runs, by the digest of the very file it read.
        let (versionCode, versionJSON, _) = try await ChildProcess.run(remotairctl, ["version", "--json", "--socket", socket], environment: Self.environment)
        #expect(versionCode == 0)
        let components = ((try? JSONSerialization.jsonObject(with: Data(versionJSON.utf8)) as? [String: Any])?["result"] as? [String: Any])?["components"] as? [String: String]
        let (_, riskDigest, _) = try await ChildProcess.run("/usr/bin/sha256sum", [PackagePaths.root + "/Calibration/risk.yaml"])
        #expect(components?["risk_calibration_sha256"] == riskDigest.split(separator: " ").first.map(String.init), "\(versionJSON)")
        #expect(components?["model_sha256"]?.count == 64, "\(versionJSON)")

        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(15)) == 0, "\(daemon.stderr.suffix(2000))")
        // The journal names the snapshot by why it was taken, under the capture subsystem, not risk.
        let lines = daemon.stderr.split(separator: "\n").filter { $0.contains("snapshot not queued") }
        // Two captures of two cameras; a retraining sample may be tried too, and is named as one.
        #expect(lines.filter { $0.contains("purpose=manual") }.count == 4, "\(daemon.stderr.suffix(3000))")
        #expect(lines.allSatisfy { $0.contains("capture: snapshot not queued") && $0.contains("trigger=manual") })
        #expect(!daemon.stderr.contains("risk: snapshot not queued"))
    }

    @Test("an alarm's document: remotairctl alarms reports it uploaded, with the time and the object key it has in the bucket")
    func alarmUploaded() async throws {
        let dir = try TemporaryDirectory("remotaird-uploaded")
        defer { dir.remove() }
        let risk = try dir.write("risk.yaml", """
            cameras: {window: 3, required: 2, min_dwell: 0s, fusion: any}
            """)
        let uploads = dir.file("uploads")
        let config = try dir.write("r.yaml", """
            device_id: up-board
            board: simulated
            state_dir: \(dir.file("state"))
            runtime_dir: \(dir.file("run"))
            calibration_dir: \(PackagePaths.root)/Calibration
            risk_file: \(risk)
            capture: {interval: 1s, jitter: 0s, first_capture_after: 500ms, snapshot_interval: 1d, samples_per_day: 0}
            simulation:
              frames_dir: \(PackagePaths.root)/Calibration/simulation/frames
              scenario: getting-dirty
            cameras:
              devices:
                - {name: upstream, device: "sim:upstream", replay_scene: clean, warmup_frames: 0, timeout: 3s}
                - {name: downstream, device: "sim:downstream", replay_scene: clean, warmup_frames: 0, timeout: 3s}
            control: {group: nogroup}
            uplink: {endpoint: "file://\(uploads)", bucket: up-bucket, prefix: fleet}
            """)
        let daemon = ChildProcess(PackagePaths.executable("remotaird"), ["run", "--config", config], environment: Self.environment)
        try daemon.start()
        defer { if daemon.process.isRunning { daemon.signal(SIGKILL) } }
        #expect(await daemon.waitForStderr("control: listening", timeout: .seconds(30)), "\(daemon.stderr)")

        let remotairctl = PackagePaths.executable("remotairctl")
        let socket = dir.file("run/control.sock")
        var uploaded: [String: Any]?
        var states: Set<String> = []
        let deadline = ContinuousClock.now + .seconds(90)
        while uploaded == nil, ContinuousClock.now < deadline, daemon.process.isRunning {
            let (code, json, _) = try await ChildProcess.run(remotairctl, ["alarms", "--json", "--socket", socket], environment: Self.environment)
            #expect(code == 0)
            let result = (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["result"] as? [String: Any]
            for alarm in result?["alarms"] as? [[String: Any]] ?? [] where alarm["kind"] as? String == "duct_dirty" {
                let upload = alarm["upload"] as? [String: Any]
                if let state = upload?["state"] as? String { states.insert(state) }
                #expect((alarm["uploaded"] as? Bool) == (upload?["state"] as? String == "uploaded"), "\(alarm)")
                if upload?["state"] as? String == "uploaded" { uploaded = alarm }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let table = try await ChildProcess.run(remotairctl, ["alarms", "--socket", socket], environment: Self.environment).1
        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(15)) == 0)

        let alarm = try #require(uploaded, "states seen: \(states); \(daemon.stderr.suffix(3000))")
        let upload = try #require(alarm["upload"] as? [String: Any])
        let key = try #require(upload["object_key"] as? String)
        let itemID = try #require(upload["item_id"] as? String)
        #expect(key.hasPrefix("fleet/up-board/alarm/") && key.hasSuffix("/\(itemID).json"), "\(key)")
        // The key is where the document really is, and it is this alarm's.
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: uploads + "/" + key))) as? [String: Any]
        #expect(document?["id"] as? String == alarm["id"] as? String)
        #expect((upload["uploaded_at"] as? String)?.hasSuffix("Z") == true)
        #expect(((upload["uploaded_age_s"] as? Double) ?? -1) >= 0)
        #expect(table.contains("yes, ") || table.contains("no active alarms"), "\(table)")
    }

    @Test("a camera that gave no frame reports its error and no capture or classify time, not 0")
    func noFrameNoTimings() async throws {
        let dir = try TemporaryDirectory("remotaird-unplugged")
        defer { dir.remove() }
        let config = try dir.write("r.yaml", """
            device_id: unplug-board
            board: simulated
            state_dir: \(dir.file("state"))
            runtime_dir: \(dir.file("run"))
            calibration_dir: \(PackagePaths.root)/Calibration
            capture: {interval: 1s, jitter: 0s, first_capture_after: 500ms, snapshot_interval: 1d, samples_per_day: 0}
            simulation:
              frames_dir: \(PackagePaths.root)/Calibration/simulation/frames
              scenario: camera-unplug
            cameras:
              devices:
                - {name: upstream, device: "sim:upstream", replay_scene: clean, warmup_frames: 0, timeout: 3s}
                - {name: downstream, device: "sim:downstream", replay_scene: clean, warmup_frames: 0, timeout: 3s}
            control: {group: nogroup}
            """)
        let daemon = ChildProcess(PackagePaths.executable("remotaird"), ["run", "--config", config], environment: Self.environment)
        try daemon.start()
        defer { if daemon.process.isRunning { daemon.signal(SIGKILL) } }
        #expect(await daemon.waitForStderr("control: listening", timeout: .seconds(30)), "\(daemon.stderr)")

        // The scenario unplugs upstream from the third scheduled capture for six: capture until it shows.
        let remotairctl = PackagePaths.executable("remotairctl")
        let socket = dir.file("run/control.sock")
        var cameras: [[String: Any]] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline, daemon.process.isRunning {
            let (_, json, _) = try await ChildProcess.run(remotairctl, ["capture", "--no-upload", "--json", "--socket", socket], environment: Self.environment)
            let result = (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["result"] as? [String: Any]
            cameras = result?["cameras"] as? [[String: Any]] ?? []
            if cameras.contains(where: { $0["name"] as? String == "upstream" && $0["error"] != nil }) { break }
            try await Task.sleep(for: .milliseconds(300))
        }
        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(15)) == 0)

        let upstream = try #require(cameras.first { $0["name"] as? String == "upstream" && $0["error"] != nil }, "\(cameras)")
        // `offline` (waiting to reopen) or `camera_offline` (device gone), depending on where in the reopen cycle it was.
        #expect(["offline", "camera_offline"].contains((upstream["error"] as? [String: Any])?["code"] as? String), "\(upstream)")
        #expect((upstream["timings_ms"] as? [String: Int]) == [:], "\(upstream)")
        #expect(upstream["snapshot_queued"] == nil, "no snapshot was asked for (--no-upload): \(upstream)")
        let downstream = try #require(cameras.first { $0["name"] as? String == "downstream" })
        #expect((downstream["timings_ms"] as? [String: Int])?.keys.sorted() == ["capture", "classify"], "\(downstream)")
    }
}
