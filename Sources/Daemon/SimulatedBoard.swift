import I2C
import Settings

extension Board {
    /// The simulated board: chip emulators on I2C, replayed JPEGs for cameras, an in-memory GPIO chip.
    /// Each feature issue adds its fakes here.
    public static func simulated(configuration: DaemonConfiguration) -> Board {
        Board(kind: .simulated) { name in
            throw I2CError(kind: .busMissing, bus: "sim:\(name)", address: nil, call: "open", hint: "no simulated chips on this bus yet")
        }
    }

    /// The real board: device nodes from configuration.
    public static func hardware(configuration: DaemonConfiguration) -> Board {
        Board(kind: .hardware) { name in
            throw I2CError(kind: .busMissing, bus: name, address: nil, call: "open", hint: "the I2C bus driver is not built yet")
        }
    }
}
