import Foundation
import I2C
import SensorEmulators
import Sensors
import Settings
import Synchronization
import Vision

/// The simulated board, a product feature (`board: simulated`, `--simulate`, the demo): chip emulators on I2C,
/// replayed JPEGs for cameras, an in-memory GPIO chip, and the configured scenario played on top of them.
/// The daemon wraps it in a `Board`; nothing here runs on a real board.
///
/// I2C: every bus name opens a simulated bus carrying the whole `SimulatedSensors` set, measuring one
/// slowly drifting atmosphere (plus the metrics a scenario drives). The same name returns the same bus.
/// Cameras replay `<frames_dir>/<replay_scene>/*.jpg` round robin; one in-memory chip stands for every GPIO
/// chip name, so any configured line works in the demo.
public final class SimulatedBoard: Sendable {
    /// The clock sensors and emulators share: `sensorClock` if given (a virtual clock for `remotaird
    /// sensors`), else real time `simulation.speed` times faster.
    public let sensorClock: any SensorClock
    /// The scenario this board plays, if configuration names one.
    public let scenario: Scenario?
    public let gpioChip = InMemoryGPIOChip(name: "sim:gpiochip0", lineCount: 64)
    /// Folder holding one sub-folder of frames per scene.
    public let framesDirectory: String
    /// Sensor id -> (bus name, address), for scenario steps that unplug a sensor.
    private let sensors: [String: (bus: String, address: UInt8)]
    private let buses = Mutex<[String: SimulatedI2CBus]>([:])
    private let cameras = Mutex<[String: SimulatedCamera]>([:])
    private let overrides = MetricOverrides()

    /// Builds the board for `configuration`. An unknown `simulation.scenario` is an error listing the known
    /// ones, so a misspelt name stops start-up instead of silently playing nothing.
    public init(configuration: DaemonConfiguration, sensorClock: (any SensorClock)? = nil) throws(ScenarioError) {
        scenario = try Scenario.configured(in: configuration)
        self.sensorClock = sensorClock
            ?? (configuration.simulation.speed == 1 ? SystemSensorClock() : ScaledClock(speed: configuration.simulation.speed))
        framesDirectory = configuration.simulation.framesDirectory
            ?? (configuration.calibrationDirectory as NSString).appendingPathComponent("simulation/frames")
        sensors = Dictionary(configuration.sensors.devices.map { ($0.id, ($0.bus, $0.address)) }, uniquingKeysWith: { first, _ in first })
    }

    /// The bus named `name`, created on first use.
    public func openI2CBus(_ name: String) -> SimulatedI2CBus {
        buses.withLock { buses in
            if let bus = buses[name] { return bus }
            let bus = SimulatedSensors.bus(name: "sim:\(name)", clock: sensorClock, air: { [overrides] time in
                var air = AirState.drifting(at: time)
                for (metric, value) in overrides.values.withLock({ $0 }) { air.set(metric, value) }
                return air
            })
            buses[name] = bus
            return bus
        }
    }

    /// A camera replaying its configured scene; the board keeps it so scenario steps can change its scene.
    public func openCamera(_ settings: CameraSettings) throws(CameraError) -> SimulatedCamera {
        let camera = try SimulatedCamera(name: settings.name, folder: (framesDirectory as NSString).appendingPathComponent(settings.replayScene))
        cameras.withLock { $0[settings.name] = camera }
        return camera
    }

    /// The cameras opened so far, by name.
    var openedCameras: [String: SimulatedCamera] { cameras.withLock { $0 } }

    /// The emulator bus and address of a configured sensor, if any.
    func sensorBus(_ id: String) -> (bus: SimulatedI2CBus, address: UInt8)? {
        guard let sensor = sensors[id] else { return nil }
        return (openI2CBus(sensor.bus), sensor.address)
    }

    /// Drives one metric of the simulated atmosphere (a scenario step).
    func drive(metric: String, to value: Double) {
        overrides.values.withLock { $0[metric] = value }
    }
}

/// Metric values a scenario imposes on the drifting atmosphere (shared with the buses' air models).
final class MetricOverrides: Sendable {
    let values = Mutex<[String: Double]>([:])
}

extension AirState {
    /// Drives one metric of the simulated atmosphere (scenarios).
    mutating func set(_ metric: String, _ value: Double) {
        switch metric {
        case "pm1_0": particleMass[0] = value
        case "pm2_5": particleMass[1] = value; particleMass[2] = max(particleMass[2], value); particleMass[3] = max(particleMass[3], value)
        case "pm4_0": particleMass[2] = value
        case "pm10": particleMass[3] = value
        case "co2": co2 = value
        case "humidity": humidity = value
        case "temperature": temperature = value
        case "pressure": pressure = value
        case "differential_pressure": differentialPressure = value
        default: break
        }
    }
}
