import GPIO
import I2C
import Sensors
import Settings
import Simulation
import V4L2
import Vision

extension Board {
    /// The board configuration asks for: the one place that chooses between the simulated board and hardware.
    /// `simulatedSensorClock` replaces the simulated board's clock (a virtual clock for `remotaird sensors`).
    /// Throws when configuration names a scenario that does not exist.
    public static func configured(_ configuration: DaemonConfiguration,
                                  simulatedSensorClock: (any SensorClock)? = nil) throws(ScenarioError) -> Board {
        if configuration.board == .simulated {
            return try .simulated(configuration: configuration, sensorClock: simulatedSensorClock)
        }
        return .hardware(configuration: configuration)
    }

    /// The simulated board (see `SimulatedBoard`) behind the `Board` seams.
    public static func simulated(configuration: DaemonConfiguration, sensorClock: (any SensorClock)? = nil) throws(ScenarioError) -> Board {
        let simulated = try SimulatedBoard(configuration: configuration, sensorClock: sensorClock)
        var board = Board(kind: .simulated, openI2CBus: { name in simulated.openI2CBus(name) }, sensorClock: simulated.sensorClock)
        board.openCamera = { settings throws(CameraError) in try simulated.openCamera(settings) }
        board.openGPIOChip = { _ throws(GPIOError) in simulated.gpioChip }
        board.beforeCaptureCycle = { cycle in await simulated.beforeCaptureCycle(cycle) }
        return board
    }

    /// The real board: device nodes from configuration.
    public static func hardware(configuration: DaemonConfiguration) -> Board {
        // A fresh descriptor for every (re)start of a sensor: after an adapter goes away and comes back, the
        // next restart gets a working descriptor. i2c-dev serialises transfers of several descriptors itself.
        var board = Board(kind: .hardware, openI2CBus: { path in try LinuxI2CBus(path: path) })
        board.openCamera = { settings throws(CameraError) in
            try V4L2Camera(settings: settings, device: { path in LinuxVideoDevice(path: path) })
        }
        board.openGPIOChip = { descriptor throws(GPIOError) in try LibgpiodChip(descriptor) }
        return board
    }
}
