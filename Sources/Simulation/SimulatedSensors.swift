import I2C
import SensorEmulators
import Sensors
import Settings

/// The simulated board's sensor set, written once: one emulator per supported chip at its default address,
/// all on one bus, measuring one slowly drifting atmosphere. The simulated board, `remotaird sensors
/// --simulate` without a configuration file and `SensorBench` all use this table.
public enum SimulatedSensors {
    /// The bus name the built-in simulated configuration puts every sensor on.
    public static let busName = "sim-i2c-1"

    /// One emulator per sensor type, in `SensorDeviceType` order.
    public static let emulators: [(type: SensorDeviceType, make: @Sendable () -> any ChipEmulator)] = [
        (.sps30, { SPS30Emulator() }),
        (.scd4x, { SCD4xEmulator() }),
        (.sgp41, { SGP41Emulator() }),
        (.sht4x, { SHT4xEmulator() }),
        (.sdp8xx, { SDP8xxEmulator() }),
        (.bme280, { BME280Emulator() }),
    ]

    /// A bus carrying every emulator, with the drifting atmosphere (or `air`, for scenarios that drive a metric).
    public static func bus(name: String, clock: any SensorClock,
                           air: @escaping @Sendable (Duration) -> AirState = AirState.drifting(at:)) -> SimulatedI2CBus {
        let bus = SimulatedI2CBus(name: name, clock: clock)
        for emulator in emulators { bus.mount(emulator.make) }
        bus.setAir(model: air)
        return bus
    }

    /// Sensor settings for every emulator on `bus`, named by type (`sps30`, `scd4x`, ...).
    public static func devices(bus: String = busName) -> [SensorDeviceSettings] {
        emulators.map { SensorDeviceSettings(id: $0.type.rawValue, type: $0.type, bus: bus) }
    }

    /// What `remotaird sensors --simulate` reads when no configuration file exists: every simulated chip.
    public static func builtInConfiguration() throws(ConfigurationError) -> DaemonConfiguration {
        var configuration = try DaemonConfiguration.parse("device_id: simulated\nboard: simulated\n", file: "<built-in simulated board>")
        configuration.sensors.devices = devices()
        return configuration
    }
}
