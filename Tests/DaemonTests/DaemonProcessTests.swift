import Foundation
import Testing
import TestSupport

/// The built executables, run as a technician or systemd would.
@Suite("remotaird process", .serialized)
struct DaemonProcessTests {
    let remotaird = PackagePaths.executable("remotaird")

    @Test("run --simulate starts, logs, and stops cleanly on SIGTERM")
    func simulatedRunStopsOnSigterm() async throws {
        let state = try TemporaryDirectory("remotaird-run")
        defer { state.remove() }
        let config = try state.write("r.yaml", "device_id: test-board\nboard: hardware\nruntime_dir: \(state.file("run"))\ncalibration_dir: \(PackagePaths.root)/Calibration\n")
        let child = ChildProcess(remotaird, ["run", "--simulate", "--config", config, "--state-dir", state.file("state")],
                                 environment: ["PATH": "/usr/bin:/bin"])
        try child.start()
        let started = await child.waitForStderr("board ready", timeout: .seconds(30))
        #expect(started, "no 'board ready' line; stderr: \(child.stderr)")
        child.signal(SIGTERM)
        let status = await child.wait(timeout: .seconds(10))
        #expect(status == 0, "stderr: \(child.stderr)")
        #expect(child.stderr.contains("remotaird: stopped"))
        #expect(FileManager.default.fileExists(atPath: state.file("state")))
    }

    @Test("check-config accepts the example and refuses a bad file with file, line and key")
    func checkConfig() async throws {
        let dir = try TemporaryDirectory("remotaird-check")
        defer { dir.remove() }
        // The shipped example, pointed at the repository's calibration instead of /etc/remotair/calibration.
        let example = try String(contentsOfFile: PackagePaths.root + "/systemd/remotaird.yaml", encoding: .utf8)
            .replacingOccurrences(of: "calibration_dir: /etc/remotair/calibration", with: "calibration_dir: \(PackagePaths.root)/Calibration")
        let copy = try dir.write("example.yaml", example)
        let (okStatus, okOut, okErr) = try await ChildProcess.run(remotaird, ["check-config", "--config", copy])
        #expect(okStatus == 0, "\(okErr)")
        #expect(okOut.contains("classifier.yaml: ok (labels clean, dirty"))
        #expect(okOut.contains("risk.yaml: ok"))

        let bad = try dir.write("bad.yaml", "device_id: b\ncapture:\n  interval: often\n")
        let (status, _, stderr) = try await ChildProcess.run(remotaird, ["check-config", "--config", bad])
        #expect(status == 1)
        #expect(stderr == "remotaird: \(bad):3: capture.interval: expected a duration such as 500ms, 30s, 15m, 2h\n")
    }

    @Test("run with a missing configuration file exits 1 naming the file, starting nothing")
    func missingConfig() async throws {
        let (status, _, stderr) = try await ChildProcess.run(remotaird, ["run", "--config", "/nonexistent/remotaird.yaml"])
        #expect(status == 1)
        #expect(stderr.hasPrefix("remotaird: /nonexistent/remotaird.yaml: cannot read"))
        #expect(!stderr.contains("starting"))
    }

    @Test("an unwritable state directory stops start-up with a named error")
    func unwritableState() async throws {
        let dir = try TemporaryDirectory("remotaird-state")
        defer { dir.remove() }
        let config = try dir.write("r.yaml", "device_id: b\n")
        // A regular file where the state directory should be.
        let blocker = try dir.write("state", "not a directory")
        let (status, _, stderr) = try await ChildProcess.run(remotaird, ["run", "--simulate", "--config", config, "--state-dir", blocker + "/sub"])
        #expect(status == 1)
        #expect(stderr.contains("cannot create state directory"))
    }

    @Test("--help works for both executables")
    func help() async throws {
        let (status, out, _) = try await ChildProcess.run(remotaird, ["--help"])
        #expect(status == 0 && out.contains("check-config"))
        let (ctlStatus, ctlOut, _) = try await ChildProcess.run(PackagePaths.executable("remotairctl"), ["--help"])
        #expect(ctlStatus == 0 && ctlOut.contains("remotairctl"))
    }
}
