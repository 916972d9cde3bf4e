import Foundation
import GPIO
import I2C
import Settings
import V4L2
import Vision

extension Board {
    /// The simulated board: chip emulators on I2C, replayed JPEGs for cameras, an in-memory GPIO chip.
    /// Each feature issue adds its fakes here.
    public static func simulated(configuration: DaemonConfiguration) -> Board {
        var board = Board(kind: .simulated) { name in
            throw I2CError(kind: .busMissing, bus: "sim:\(name)", address: nil, call: "open", hint: "no simulated chips on this bus yet")
        }
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
        var board = Board(kind: .hardware) { name in
            throw I2CError(kind: .busMissing, bus: name, address: nil, call: "open", hint: "the I2C bus driver is not built yet")
        }
        board.openCamera = { settings throws(CameraError) in
            try V4L2Camera(settings: settings, device: { path in LinuxVideoDevice(path: path) })
        }
        board.openGPIOChip = { descriptor throws(GPIOError) in try LibgpiodChip(descriptor) }
        return board
    }
}
