import Foundation
import GPIO
import I2C
import SensorEmulators
import Sensors
import Settings
import Synchronization
import V4L2
import Vision

extension Board {
    /// The simulated board: chip emulators on I2C, replayed JPEGs for cameras, an in-memory GPIO chip.
    /// Each feature issue adds its fakes here.
    ///
    /// I2C: every bus name opens a simulated bus carrying all six sensor emulators at their default addresses
    /// (SPS30, SCD41, SGP41, SHT4x, SDP810, BME280), measuring one slowly drifting atmosphere. The same name
    /// returns the same bus. `sensorClock` overrides the clock (a virtual clock for `remotaird sensors`);
    /// by default time runs `simulation.speed` times faster than real time.
    public static func simulated(configuration: DaemonConfiguration, sensorClock: (any SensorClock)? = nil) -> Board {
        let clock: any SensorClock = sensorClock
            ?? (configuration.simulation.speed == 1 ? SystemSensorClock() : ScaledClock(speed: configuration.simulation.speed))
        let buses = Mutex<[String: SimulatedI2CBus]>([:])
        var board = Board(kind: .simulated, openI2CBus: { name in
            buses.withLock { buses in
                if let bus = buses[name] { return bus }
                let bus = SimulatedI2CBus(name: "sim:\(name)", clock: clock)
                bus.mount { SPS30Emulator() }
                bus.mount { SCD4xEmulator() }
                bus.mount { SGP41Emulator() }
                bus.mount { SHT4xEmulator() }
                bus.mount { SDP8xxEmulator() }
                bus.mount { BME280Emulator() }
                bus.setAir(model: AirState.drifting(at:))
                buses[name] = bus
                return bus
            }
        }, sensorClock: clock)
        // Cameras replay `<frames_dir>/<replay_scene>/*.jpg` round robin.
        let frames = configuration.simulation.framesDirectory
            ?? (configuration.calibrationDirectory as NSString).appendingPathComponent("simulation/frames")
        board.openCamera = { settings throws(CameraError) in
            try SimulatedCamera(name: settings.name, folder: (frames as NSString).appendingPathComponent(settings.replayScene))
        }
        // One in-memory chip stands for every chip name, so any configured line works in the demo.
        let chip = InMemoryGPIOChip(name: "sim:gpiochip0", lineCount: 64)
        board.openGPIOChip = { _ throws(GPIOError) in chip }
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
