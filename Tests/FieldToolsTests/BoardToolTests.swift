import Daemon
import FieldTools
import Foundation
import Settings
import Simulation
import Testing
import TestSupport

/// `sensors`, `capture` and `run`'s start-up checks in-process on the simulated board.
@Suite("sensors, capture and start-up on the simulated board")
struct BoardToolTests {
    @Test func sensorsWithoutAConfigurationFileReadTheWholeSimulatedSet() async throws {
        let recording = RecordingContext()
        let options = SensorsOptions(configuration: ConfigurationOptions(file: "/nonexistent.yaml", simulate: true), json: true)
        #expect(await readSensors(options, context: recording.context) == .success, "\(recording.errors)")
        let objects = try recording.output.map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        #expect(Set(objects.compactMap { $0["sensor"] as? String }) == ["sps30", "scd4x", "sgp41", "sht4x", "sdp8xx", "bme280"])
        #expect(objects.allSatisfy { $0["state"] as? String == "ok" })
        let co2 = try #require(objects.first { $0["metric"] as? String == "co2" })
        #expect(co2["unit"] as? String == "ppm" && (co2["value"] as? Double).map { (300...5000).contains($0) } == true)
        #expect(recording.output.allSatisfy { $0.hasPrefix("{\"sensor\":\"") })
    }

    @Test func sensorsTableFromAConfigurationFile() async throws {
        let directory = try TemporaryDirectory("remotair-sensors")
        defer { directory.remove() }
        let config = try directory.write("remotaird.yaml", """
            device_id: t
            board: simulated
            sensors:
              devices:
                - {id: rh, type: sht4x, bus: sim-i2c-1}
            """)
        let recording = RecordingContext()
        #expect(await readSensors(SensorsOptions(configuration: ConfigurationOptions(file: config)), context: recording.context) == .success)
        // id padded to 12, type to 8, state to 9, metric to 23, value (two decimals) to 10, then the unit.
        #expect(recording.output.count == 2)
        #expect(recording.output.allSatisfy { $0.hasPrefix("rh          sht4x   ok       ") })
        #expect(recording.output.contains { $0.range(of: #"^rh +sht4x +ok +temperature +-?\d+\.\d\d +degC$"#, options: .regularExpression) != nil })
    }

    @Test func sensorsWithNoneConfiguredFail() async throws {
        let directory = try TemporaryDirectory("remotair-sensors")
        defer { directory.remove() }
        let config = try directory.write("remotaird.yaml", "device_id: t\nboard: simulated\n")
        let recording = RecordingContext()
        #expect(await readSensors(SensorsOptions(configuration: ConfigurationOptions(file: config)), context: recording.context) == .failure)
        #expect(recording.stderr == "remotaird: \(config): no sensors configured (sensors.devices is empty)")
    }

    static func cameraConfig(_ directory: TemporaryDirectory, extra: String = "") throws -> String {
        try directory.write("remotaird.yaml", """
            device_id: capture-test
            board: simulated
            state_dir: \(directory.file("state"))
            calibration_dir: \(PackagePaths.root)/Calibration
            cameras:
              devices:
                - {name: upstream, device: sim, replay_scene: clean, illumination: 17}
                - {name: downstream, device: sim, replay_scene: dirty, illumination: 18}
            gpio:
              chip: sim
              illumination_settle: 1ms
            \(extra)
            """)
    }

    @Test func captureWritesOneJPEGPerCamera() async throws {
        let directory = try TemporaryDirectory("remotair-capture")
        defer { directory.remove() }
        let config = try Self.cameraConfig(directory)
        let out = directory.file("out")
        let recording = RecordingContext()
        let status = await capture(CaptureOptions(configuration: ConfigurationOptions(file: config), out: out), context: recording.context)
        #expect(status == .success, "\(recording.output) \(recording.errors)")
        #expect(recording.output.count == 2)
        #expect(recording.output.first?.hasPrefix("upstream \(out)/") == true)
        #expect(recording.output.allSatisfy { $0.contains(" corrupt=0 ms=") })
        let files = try FileManager.default.contentsOfDirectory(atPath: out)
        #expect(files.count == 2 && files.allSatisfy { $0.hasSuffix("-upstream.jpg") || $0.hasSuffix("-downstream.jpg") })
    }

    @Test func captureRefusesAnUnknownCamera() async throws {
        let directory = try TemporaryDirectory("remotair-capture")
        defer { directory.remove() }
        let config = try Self.cameraConfig(directory)
        let recording = RecordingContext()
        let status = await capture(CaptureOptions(configuration: ConfigurationOptions(file: config), camera: "sideways", out: directory.file("out")),
                                   context: recording.context)
        #expect(status == .failure)
        #expect(recording.stderr == "remotaird: --camera: no camera named 'sideways'; configured: upstream, downstream, or all")
    }

    /// Issue 17 point 8: start-up stops on an unknown scenario, naming the setting and the known scenarios.
    @Test func startUpRefusesAnUnknownScenario() throws {
        let directory = try TemporaryDirectory("remotair-run")
        defer { directory.remove() }
        let config = try Self.cameraConfig(directory)
        #expect(throws: ToolFailure("\(config): simulation.scenario: no scenario named 'flood'; known scenarios: "
                                    + "clean-duct, getting-dirty, pm-spike, camera-unplug, sensor-failure, blocked-lens")) {
            _ = try prepareRun(ConfigurationOptions(file: config), scenario: "flood")
        }
        let (configuration, board) = try prepareRun(ConfigurationOptions(file: config), scenario: "pm-spike")
        #expect(configuration.simulation.scenario == "pm-spike" && board.kind == .simulated)

        let hardware = try directory.write("hardware.yaml", "device_id: t\nsimulation: {scenario: pm-spike}\n")
        #expect(throws: ToolFailure("a scenario plays only on the simulated board (--simulate or board: simulated)")) {
            _ = try prepareRun(ConfigurationOptions(file: hardware), scenario: nil)
        }
    }

    /// The daemon's own entry to the board: an unknown scenario no longer builds a board that plays nothing.
    @Test func theBoardItselfRefusesAnUnknownScenario() throws {
        let directory = try TemporaryDirectory("remotair-run")
        defer { directory.remove() }
        let config = try Self.cameraConfig(directory, extra: "simulation: {scenario: flood}")
        let configuration = try DaemonConfiguration.load(file: config)
        let error = #expect(throws: ScenarioError.self) { _ = try Board.configured(configuration) }
        #expect(error?.known.contains("getting-dirty") == true)
    }
}
