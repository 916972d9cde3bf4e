import GPIO
import I2C
import Sensors
import Settings
import Vision

/// The hardware the services run on: real device nodes, or the simulated board (target Simulation).
/// Feature services ask the board for their devices by the names configuration gives them,
/// so the same services run on the simulated board and on hardware.
public struct Board: Sendable {
    public var kind: BoardKind
    /// Opens the I2C bus named in configuration (`/dev/i2c-1`, or any name on the simulated board).
    public var openI2CBus: @Sendable (String) throws -> any I2CBus
    /// The clock sensors and their emulators share: real time on hardware, possibly accelerated or virtual
    /// on the simulated board.
    public var sensorClock: any SensorClock
    /// Builds the camera configured by `CameraSettings` (V4L2 node, or replayed frames). Opening
    /// the device happens later, under the camera's supervisor.
    public var openCamera: @Sendable (CameraSettings) throws(CameraError) -> any Camera = { settings throws(CameraError) in
        throw CameraError(kind: .absent, camera: settings.name, detail: "this board has no cameras")
    }
    /// Opens a GPIO chip by path, name, number or label.
    public var openGPIOChip: @Sendable (String) throws(GPIOError) -> any GPIOChip = { name throws(GPIOError) in
        throw GPIOError(kind: .chipMissing, chip: name, line: nil, call: "open")
    }

    /// Called before each capture cycle with its index: the simulated board plays its scenario here.
    public var beforeCaptureCycle: @Sendable (Int) async -> Void = { _ in }

    public init(kind: BoardKind, openI2CBus: @escaping @Sendable (String) throws -> any I2CBus,
                sensorClock: any SensorClock = SystemSensorClock()) {
        self.kind = kind
        self.openI2CBus = openI2CBus
        self.sensorClock = sensorClock
    }
}
