import I2C
import SensorEmulators
import Sensors
import Settings
import Synchronization

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
        return Board(kind: .simulated, openI2CBus: { name in
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
    }

    /// The real board: device nodes from configuration.
    public static func hardware(configuration: DaemonConfiguration) -> Board {
        // A fresh descriptor for every (re)start of a sensor: after an adapter goes away and comes back, the
        // next restart gets a working descriptor. i2c-dev serialises transfers of several descriptors itself.
        Board(kind: .hardware, openI2CBus: { path in try LinuxI2CBus(path: path) })
    }
}
