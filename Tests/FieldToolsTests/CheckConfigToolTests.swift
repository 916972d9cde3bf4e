import FieldTools
import Foundation
import Testing
import TestSupport

@Suite("check-config in-process")
struct CheckConfigToolTests {
    static func config(_ directory: TemporaryDirectory, extra: String = "") throws -> String {
        try directory.write("remotaird.yaml", """
            device_id: check-test
            board: simulated
            state_dir: \(directory.file("state"))
            calibration_dir: \(PackagePaths.root)/Calibration
            \(extra)
            """)
    }

    @Test func aGoodFileIsOkWithWhatItPointsTo() throws {
        let directory = try TemporaryDirectory("remotair-check")
        defer { directory.remove() }
        let file = try Self.config(directory)
        let recording = RecordingContext()
        #expect(checkConfig(ConfigurationOptions(file: file), context: recording.context) == .success)
        #expect(recording.output.count == 3)
        #expect(recording.output.first == "\(file): ok (device check-test, board simulated)")
        #expect(recording.output[1].contains("classifier.yaml: ok (labels clean, dirty, model "))
        #expect(recording.output[2].contains("risk.yaml: ok ("))
        #expect(recording.errors.isEmpty)
    }

    @Test func aBadKeyIsOneLineNamingFileLineAndKey() throws {
        let directory = try TemporaryDirectory("remotair-check")
        defer { directory.remove() }
        let file = try Self.config(directory, extra: "capture: {intervall: 5m}")
        let recording = RecordingContext()
        #expect(checkConfig(ConfigurationOptions(file: file), context: recording.context) == .failure)
        #expect(recording.output.isEmpty)
        #expect(recording.errors.count == 1)
        #expect(recording.errors[0].hasPrefix("remotaird: \(file):5: capture.intervall"), "\(recording.errors)")
    }

    @Test func aMissingFileFails() {
        let recording = RecordingContext()
        #expect(checkConfig(ConfigurationOptions(file: "/nonexistent/remotaird.yaml"), context: recording.context) == .failure)
        #expect(recording.stderr.contains("/nonexistent/remotaird.yaml"))
    }

    /// Issue 17 point 8: a misspelt scenario used to pass check-config (and be dropped silently by the daemon).
    @Test func anUnknownScenarioIsReportedWithTheKnownOnes() throws {
        let directory = try TemporaryDirectory("remotair-check")
        defer { directory.remove() }
        let file = try Self.config(directory, extra: "simulation: {scenario: flood}")
        let recording = RecordingContext()
        #expect(checkConfig(ConfigurationOptions(file: file), context: recording.context) == .failure)
        #expect(recording.stderr == "remotaird: \(file): simulation.scenario: no scenario named 'flood'; known scenarios: "
                + "clean-duct, getting-dirty, pm-spike, camera-unplug, sensor-failure, blocked-lens")
        #expect(recording.output.isEmpty)
    }

    @Test func aBadLogLevelOverrideIsNamed() throws {
        let directory = try TemporaryDirectory("remotair-check")
        defer { directory.remove() }
        let file = try Self.config(directory)
        let recording = RecordingContext()
        #expect(checkConfig(ConfigurationOptions(file: file, logLevel: "loud"), context: recording.context) == .failure)
        #expect(recording.stderr.hasPrefix("remotaird: --log-level: 'loud' is not one of trace, debug"))
    }
}
