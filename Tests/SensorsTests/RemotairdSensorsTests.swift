import Foundation
import Glibc
import TestSupport
import Testing

/// The executables end to end: `remotaird sensors` on the simulated board, and `remotaird run --simulate`
/// logging readings.
@Suite struct RemotairdSensorsTests {
    @Test func sensorsCommandPrintsJSONLines() async throws {
        let (status, stdout, stderr) = try await ChildProcess.run(PackagePaths.executable("remotaird"), ["sensors", "--simulate", "--json", "--config", "/nonexistent.yaml"])
        #expect(status == 0, "\(stderr)")
        let objects = try stdout.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        #expect(Set(objects.compactMap { $0["sensor"] as? String }) == ["sps30", "scd4x", "sgp41", "sht4x", "sdp8xx", "bme280"])
        #expect(objects.allSatisfy { $0["state"] as? String == "ok" })
        let pm = try #require(objects.first { $0["metric"] as? String == "pm2_5" })
        #expect(pm["unit"] as? String == "ug/m3")
        #expect((pm["value"] as? Double).map { $0 > 0 && $0 < 1000 } == true)
    }

    @Test func sensorsCommandReportsAbsentSensors() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try directory.write("remotaird.yaml", """
            device_id: vm
            sensors:
              devices:
                - {id: env, type: bme280, bus: /dev/i2c-does-not-exist}
                - {id: co2, type: scd4x, bus: /dev/i2c-does-not-exist}
            """)
        let (status, stdout, _) = try await ChildProcess.run(PackagePaths.executable("remotaird"), ["sensors", "--config", config, "--timeout", "1"])
        #expect(status == 0)
        #expect(stdout.contains("env") && stdout.contains("absent"))
        #expect(stdout.split(separator: "\n").count == 2)
    }

    @Test func daemonLogsReadingsOnTheSimulatedBoard() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try directory.write("remotaird.yaml", """
            device_id: sim
            board: simulated
            state_dir: \(directory.path)/state
            runtime_dir: \(directory.path)/run
            calibration_dir: \(PackagePaths.root)/Calibration
            sensors:
              log_readings: true
              devices:
                - {id: rh, type: sht4x, bus: sim-i2c-1}
                - {id: co2, type: scd4x, bus: sim-i2c-1}
            """)
        let daemon = ChildProcess(PackagePaths.executable("remotaird"), ["run", "--config", config])
        try daemon.start()
        defer { if daemon.process.isRunning { daemon.signal(SIGKILL) } }
        #expect(await daemon.waitForStderr("reading co2=", timeout: .seconds(30)))
        #expect(daemon.stderr.contains("sensor=rh"))
        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(30)) == 0)
    }
}
