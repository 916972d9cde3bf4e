import Control
import ControlProtocol
import Daemon
import Foundation
import Health
import Settings
import Testing
import TestSupport

/// The daemon's control socket: the placeholder backend, and the real process answering remotairctl.
@Suite("daemon control socket", .serialized)
struct DaemonControlTests {
    @Test("status reports the health registry: states, ages, and the overall word")
    func statusFromHealth() async throws {
        let configuration = try DaemonConfiguration.parse("device_id: board-7\n", file: "/etc/r.yaml")
        let health = HealthRegistry()
        let start = ContinuousClock.now - .seconds(90)
        health.publish("cameras", state: "ok", detail: ["captures": "3"], at: start)
        health.publish("uplink", state: "offline", at: start + .seconds(60))
        let backend = DaemonControlBackend(configuration: configuration, health: health, version: "9.9.9", started: start)
        let status = try await backend.status()
        #expect(status.deviceID == "board-7" && status.versions["remotaird"] == "9.9.9")
        #expect(status.state == "degraded")
        #expect(status.uptimeSeconds >= 90)
        #expect(status.subsystems.map(\.name) == ["cameras", "uplink"])
        #expect(status.subsystems[0].detail == ["captures": "3"])
        #expect((status.subsystems[1].sinceSeconds ?? 0) >= 30)

        health.register(loop: "cameras", period: .seconds(1), at: start)
        #expect(try await backend.status().state == "failing")
        #expect(try await backend.status().subsystems[0].state == "stalled")

        await #expect(throws: ControlError(.notAvailable, "sensors is not available in this build of remotaird")) {
            _ = try await backend.sensors()
        }
    }

    @Test("remotaird serves remotairctl on its socket, refuses a second daemon, and removes the socket on SIGTERM")
    func processServesRemotairctl() async throws {
        let dir = try TemporaryDirectory("remotaird-ctl")
        defer { dir.remove() }
        let socket = dir.file("run/control.sock")
        let config = try dir.write("r.yaml", """
            device_id: ctl-board
            runtime_dir: \(dir.file("run"))
            calibration_dir: \(PackagePaths.root)/Calibration
            control:
              group: nogroup
            """)
        let environment = ["PATH": "/usr/bin:/bin"]
        let daemon = ChildProcess(PackagePaths.executable("remotaird"), ["run", "--simulate", "--config", config, "--state-dir", dir.file("state")],
                                  environment: environment)
        try daemon.start()
        defer { if daemon.process.isRunning { daemon.signal(SIGKILL) } }
        #expect(await daemon.waitForStderr("control: listening", timeout: .seconds(30)), "\(daemon.stderr)")

        let remotairctl = PackagePaths.executable("remotairctl")
        let (status, stdout, stderr) = try await ChildProcess.run(remotairctl, ["status", "--socket", socket], environment: environment)
        #expect(status == 0, "\(stderr)")
        #expect(stdout.hasPrefix("ctl-board  ok"))
        #expect(stdout.contains("board      ok"))
        let (sensors, _, sensorsErr) = try await ChildProcess.run(remotairctl, ["sensors", "--socket", socket], environment: environment)
        #expect(sensors == 0, "\(sensorsErr)")

        let (second, _, secondErr) = try await ChildProcess.run(
            PackagePaths.executable("remotaird"), ["run", "--simulate", "--config", config, "--state-dir", dir.file("state2")],
            environment: environment, timeout: .seconds(30))
        #expect(second != 0)
        #expect(secondErr.contains("another remotaird is already listening"), "\(secondErr)")
        // The first daemon still answers.
        #expect(try await ChildProcess.run(remotairctl, ["version", "--socket", socket], environment: environment).0 == 0)

        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(10)) == 0, "\(daemon.stderr)")
        #expect(!FileManager.default.fileExists(atPath: socket))
    }
}
