import Foundation
import Testing
import TestSupport

/// Issue 18's reload check through the whole process: `capture.interval` shortened from an hour by SIGHUP
/// (what `systemctl reload remotaird` sends) must bring the next scheduled capture within seconds; and a
/// changed `log_level` applies without a restart.
@Suite("hot reload of the capture schedule and log level", .serialized)
struct ReloadScheduleEndToEndTests {
    @Test("a reload from a 1 h to a 2 s capture interval captures again within seconds")
    func shorterIntervalByReload() async throws {
        let dir = try TemporaryDirectory("remotaird-reload-schedule")
        defer { dir.remove() }
        func configuration(interval: String) -> String {
            """
            device_id: reload-board
            board: simulated
            state_dir: \(dir.file("state"))
            runtime_dir: \(dir.file("run"))
            calibration_dir: \(PackagePaths.root)/Calibration
            capture: {interval: \(interval), jitter: 0s, first_capture_after: 500ms}
            simulation: {frames_dir: \(PackagePaths.root)/Calibration/simulation/frames}
            cameras:
              devices:
                - {name: upstream, device: "sim:upstream", replay_scene: clean, warmup_frames: 0, timeout: 3s}
            control: {group: nogroup}
            uplink: {endpoint: "file://\(dir.file("uploads"))", bucket: reload-bucket}
            """
        }
        let config = try dir.write("r.yaml", configuration(interval: "1h"))
        let daemon = ChildProcess(PackagePaths.executable("remotaird"), ["run", "--config", config], environment: ["PATH": "/usr/bin:/bin"])
        try daemon.start()
        defer { if daemon.process.isRunning { daemon.signal(SIGKILL) } }
        func captures() -> Int { daemon.stderr.components(separatedBy: "risk: capture").count - 1 }
        #expect(await daemon.waitForStderr("risk: capture", timeout: .seconds(30)), "\(daemon.stderr.suffix(2000))")
        let first = captures()

        _ = try dir.write("r.yaml", configuration(interval: "2s"))
        daemon.signal(SIGHUP)
        #expect(await daemon.waitForStderr("reload: reloaded", timeout: .seconds(20)), "\(daemon.stderr.suffix(2000))")
        let deadline = ContinuousClock.now + .seconds(15)
        while captures() == first && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(captures() > first, "no scheduled capture within 15 s of the reload: \(daemon.stderr.suffix(2000))")
        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(15)) == 0)
    }

    @Test("a reload from log_level notice to info brings the info lines back without a restart")
    func logLevelByReload() async throws {
        let dir = try TemporaryDirectory("remotaird-reload-level")
        defer { dir.remove() }
        func configuration(level: String) -> String {
            """
            device_id: reload-board
            board: simulated
            log_level: \(level)
            state_dir: \(dir.file("state"))
            runtime_dir: \(dir.file("run"))
            calibration_dir: \(PackagePaths.root)/Calibration
            capture: {interval: 2s, jitter: 0s, first_capture_after: 500ms}
            simulation: {frames_dir: \(PackagePaths.root)/Calibration/simulation/frames}
            cameras:
              devices:
                - {name: upstream, device: "sim:upstream", replay_scene: clean, warmup_frames: 0, timeout: 3s}
            control: {group: nogroup}
            uplink: {endpoint: "file://\(dir.file("uploads"))", bucket: reload-bucket}
            """
        }
        let config = try dir.write("r.yaml", configuration(level: "notice"))
        let daemon = ChildProcess(PackagePaths.executable("remotaird"), ["run", "--config", config], environment: ["PATH": "/usr/bin:/bin"])
        try daemon.start()
        defer { if daemon.process.isRunning { daemon.signal(SIGKILL) } }
        // `risk: capture` is an info line: at notice it must not show, though captures run every 2 s.
        #expect(await daemon.waitForStderr("remotaird: starting", timeout: .seconds(30)), "\(daemon.stderr.suffix(2000))")
        try await Task.sleep(for: .seconds(4))
        #expect(!daemon.stderr.contains(" info "), "info lines at log_level notice: \(daemon.stderr.suffix(2000))")

        _ = try dir.write("r.yaml", configuration(level: "info"))
        daemon.signal(SIGHUP)
        #expect(await daemon.waitForStderr("risk: capture", timeout: .seconds(20)), "no info line after the reload: \(daemon.stderr.suffix(2000))")
        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(15)) == 0)
    }
}
