import Foundation
import Settings

/// What a reading measures. Raw values are the names used in configuration, calibration and JSON.
public enum Metric: String, Sendable, CaseIterable, Codable {
    case pm1_0, pm2_5, pm4_0, pm10
    case nc0_5, nc1_0, nc2_5, nc4_0, nc10
    case typical_particle_size
    case co2, temperature, humidity
    case voc_index, nox_index, sraw_voc, sraw_nox
    case pressure, differential_pressure

    /// The unit the value is published in.
    public var unit: String {
        switch self {
        case .pm1_0, .pm2_5, .pm4_0, .pm10: return "ug/m3"
        case .nc0_5, .nc1_0, .nc2_5, .nc4_0, .nc10: return "#/cm3"
        case .typical_particle_size: return "um"
        case .co2: return "ppm"
        case .temperature: return "degC"
        case .humidity: return "%RH"
        case .voc_index, .nox_index: return "index"
        case .sraw_voc, .sraw_nox: return "ticks"
        case .pressure: return "hPa"
        case .differential_pressure: return "Pa"
        }
    }

    /// Values outside this range are impossible for any of our chips and are rejected, never published.
    public var plausibleRange: ClosedRange<Double> {
        switch self {
        case .pm1_0, .pm2_5, .pm4_0, .pm10: return 0...1000
        case .nc0_5, .nc1_0, .nc2_5, .nc4_0, .nc10: return 0...3000
        case .typical_particle_size: return 0...10
        // SCD4x measures 400...5000 ppm (output range up to 40000); 0 means the sensor has no valid value.
        case .co2: return 1...40000
        case .temperature: return -40...125
        case .humidity: return 0...100
        case .voc_index, .nox_index: return 0...500
        case .sraw_voc, .sraw_nox: return 0...65535
        case .pressure: return 300...1100
        case .differential_pressure: return -2000...2000
        }
    }
}

/// The chip families we drive (also the `type` word in configuration).
public typealias SensorType = SensorDeviceType

/// One published measurement.
public struct Reading: Sendable, Equatable, Codable {
    /// The configured sensor id, e.g. `duct-pm`.
    public var sensorID: String
    public var sensorType: SensorType
    /// The chip's serial number as it reports it, when it has one.
    public var serial: String?
    public var metric: Metric
    /// The calibrated value in `unit`.
    public var value: Double
    public var unit: String
    public var timestamp: Date
    /// Which calibration section adjusted this value (nil: none applied).
    public var calibration: String?

    public init(sensorID: String, sensorType: SensorType, serial: String?, metric: Metric, value: Double,
                timestamp: Date, calibration: String? = nil) {
        self.sensorID = sensorID
        self.sensorType = sensorType
        self.serial = serial
        self.metric = metric
        self.value = value
        self.unit = metric.unit
        self.timestamp = timestamp
        self.calibration = calibration
    }
}

/// A sensor's condition as `remotairctl status` and the health registry show it.
public enum SensorState: String, Sendable, Codable {
    /// Not found on the bus (never seen, or gone); retried with backoff.
    case absent
    /// Found and measuring, but no trustworthy data yet (SCD4x first 5 s, SPS30 start-up, SGP41 45 s).
    case warming
    case ok
    /// No fresh reading for several intervals.
    case stale
    /// Answering but reporting a fault or failing repeatedly (CRC errors, fan error); re-initialised with backoff.
    case faulted
}

/// Per-sensor state and counters.
public struct SensorStatus: Sendable, Equatable, Codable {
    public var id: String
    public var type: SensorType
    public var state: SensorState
    public var serial: String?
    /// Successful measurement reads.
    public var reads: Int = 0
    public var crcErrors: Int = 0
    public var nacks: Int = 0
    /// Re-initialisations after faults.
    public var reinits: Int = 0
    /// Frames rejected for wrong length or impossible values.
    public var rejected: Int = 0
    public var lastError: String?

    public init(id: String, type: SensorType, state: SensorState) {
        self.id = id
        self.type = type
        self.state = state
    }
}
