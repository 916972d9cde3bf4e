import Foundation

/// The physical state the simulated chips measure: one atmosphere shared by every chip on a bus, so the
/// SHT4x, SCD4x and BME280 agree on temperature. Tests set exact values; the simulated board drifts them.
public struct AirState: Sendable, Equatable {
    /// degC.
    public var temperature: Double = 22
    /// %RH.
    public var humidity: Double = 45
    /// ppm.
    public var co2: Double = 620
    /// hPa.
    public var pressure: Double = 1008
    /// PM1.0, PM2.5, PM4.0, PM10 in ug/m3.
    public var particleMass: [Double] = [4.1, 6.3, 7.2, 7.6]
    /// NC0.5, NC1.0, NC2.5, NC4.0, NC10 in #/cm3.
    public var particleNumber: [Double] = [27.5, 32.8, 33.4, 33.5, 33.6]
    /// um.
    public var typicalParticleSize: Double = 0.55
    /// SGP41 raw VOC signal in ticks (clean air is around 27000-30000).
    public var vocRaw: Double = 28_000
    /// SGP41 raw NOx signal in ticks (clean air is around 15000-17000).
    public var noxRaw: Double = 16_000
    /// Pa across the duct filter.
    public var differentialPressure: Double = 42

    public init() {}

    /// Plausible values drifting slowly (periods of minutes to hours) for the simulated board.
    public static func drifting(at time: Duration) -> AirState {
        let t = Double(time.components.seconds) + Double(time.components.attoseconds) / 1e18
        func wave(_ period: Double, _ phase: Double = 0) -> Double { sin(2 * .pi * t / period + phase) }
        var air = AirState()
        air.temperature = 22 + 1.5 * wave(3600) + 0.2 * wave(317, 1)
        air.humidity = 45 + 6 * wave(5400, 2) + 0.5 * wave(241)
        air.co2 = 650 + 180 * wave(2700, 0.5) + 15 * wave(173)
        air.pressure = 1008 + 3 * wave(7200, 1.3)
        let pm = 1 + 0.4 * wave(1800, 0.7) + 0.05 * wave(97)
        air.particleMass = [4.1, 6.3, 7.2, 7.6].map { $0 * pm }
        air.particleNumber = [27.5, 32.8, 33.4, 33.5, 33.6].map { $0 * pm }
        air.vocRaw = 28_000 - 900 * max(0, wave(1500, 0.3)) + 60 * wave(61)
        air.noxRaw = 16_000 + 500 * max(0, wave(2100, 2.1)) + 30 * wave(53)
        air.differentialPressure = 42 + 4 * wave(900) + 0.8 * wave(37)
        return air
    }
}
