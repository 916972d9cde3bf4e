import Foundation
import Sensors
import Settings
import Simulation
import Testing
import TestSupport
import Vision

/// The simulated board as the demo uses it: the sensor preset, replayed cameras, and scenarios played
/// through the real sensor drivers and camera validation.
@Suite("Simulated board")
struct SimulatedBoardTests {
    static func configuration(scenario: String?, sensors: [String] = ["sps30"]) throws -> DaemonConfiguration {
        var configuration = try DaemonConfiguration.parse("""
            device_id: sim
            board: simulated
            calibration_dir: \(PackagePaths.root)/Calibration
            """, file: "sim.yaml")
        configuration.simulation.scenario = scenario
        configuration.sensors.devices = SimulatedSensors.devices().filter { sensors.contains($0.id) }
        return configuration
    }

    /// One round of readings through the real drivers, on a virtual clock (no real waiting).
    static func readOnce(_ board: SimulatedBoard, _ configuration: DaemonConfiguration) async -> ([SensorStatus], [Reading]) {
        let readings = SensorReadings()
        let service = SensorService(settings: configuration.sensors, calibration: SensorCalibration.Resolved(),
                                    openBus: { board.openI2CBus($0) }, readings: readings, clock: board.sensorClock)
        let statuses = await service.collectOneRound(timeout: .seconds(120), sequential: true)
        return (statuses, readings.latest())
    }

    @Test func thePresetIsEverySensorTypeAtItsDefaultAddress() throws {
        let devices = SimulatedSensors.devices()
        #expect(devices.map(\.type) == SensorDeviceType.allCases)
        #expect(devices.map(\.id) == ["sps30", "scd4x", "sgp41", "sht4x", "sdp8xx", "bme280"])
        #expect(devices.allSatisfy { $0.bus == "sim-i2c-1" && $0.address == $0.type.defaultAddress })
        let builtIn = try SimulatedSensors.builtInConfiguration()
        #expect(builtIn.board == .simulated && builtIn.sensors.devices == devices && builtIn.file == "<built-in simulated board>")
    }

    @Test func anUnknownScenarioStopsTheBoardListingTheKnownOnes() throws {
        let error = #expect(throws: ScenarioError.self) { _ = try SimulatedBoard(configuration: Self.configuration(scenario: "flood")) }
        #expect(error?.name == "flood" && error?.known == Scenario.catalogue.map(\.name))
        #expect(try SimulatedBoard(configuration: Self.configuration(scenario: nil)).scenario == nil)
    }

    @Test func theSameBusNameIsTheSameBus() throws {
        let board = try SimulatedBoard(configuration: Self.configuration(scenario: nil))
        #expect(board.openI2CBus("sim-i2c-1") === board.openI2CBus("sim-i2c-1"))
        #expect(board.openI2CBus("sim-i2c-1") !== board.openI2CBus("other"))
    }

    @Test func pmSpikeDrivesTheParticulateSensorThroughItsDriver() async throws {
        let configuration = try Self.configuration(scenario: "pm-spike")
        let board = try SimulatedBoard(configuration: configuration, sensorClock: VirtualClock())
        for cycle in 0...1 { await board.beforeCaptureCycle(cycle) }
        let before = await Self.readOnce(board, configuration).1.first { $0.metric == .pm2_5 }?.value
        #expect(before.map { $0 < 30 } == true, "\(String(describing: before))")
        await board.beforeCaptureCycle(2)
        let during = await Self.readOnce(board, configuration).1.first { $0.metric == .pm2_5 }?.value
        #expect(during.map { abs($0 - 80) < 2 } == true, "\(String(describing: during))")
    }

    @Test func sensorFailureMakesTheSensorStopAnswering() async throws {
        let configuration = try Self.configuration(scenario: "sensor-failure")
        let board = try SimulatedBoard(configuration: configuration, sensorClock: VirtualClock())
        for cycle in 0...2 { await board.beforeCaptureCycle(cycle) }
        let (statuses, readings) = await Self.readOnce(board, configuration)
        #expect(statuses.first?.state != .ok && readings.isEmpty, "\(statuses)")
    }

    @Test func scenesSwitchAndCamerasUnplug() async throws {
        let configuration = try Self.configuration(scenario: "getting-dirty")
        let board = try SimulatedBoard(configuration: configuration)
        let camera = try board.openCamera(CameraSettings(name: "upstream", device: "sim"))
        let request = StillRequest(warmupFrames: 0, timeout: .seconds(5), maxCorruptFrames: 2, jpegQuality: 80)
        let frames = "\(PackagePaths.root)/Calibration/simulation/frames"
        func bytes(_ scene: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(frames)/\(scene)/000.jpg"))) }
        for cycle in 0...2 { await board.beforeCaptureCycle(cycle) }
        #expect(try await camera.capture(request).frame.jpeg == bytes("clean"))
        await board.beforeCaptureCycle(3)
        #expect(try await camera.capture(request).frame.jpeg == bytes("dirty"))

        let unplug = try SimulatedBoard(configuration: Self.configuration(scenario: "camera-unplug"))
        let upstream = try unplug.openCamera(CameraSettings(name: "upstream", device: "sim"))
        for cycle in 0...2 { await unplug.beforeCaptureCycle(cycle) }
        #expect(await upstream.isPresent == false)
        for cycle in 3...8 { await unplug.beforeCaptureCycle(cycle) }
        #expect(await upstream.isPresent == true)
    }
}
