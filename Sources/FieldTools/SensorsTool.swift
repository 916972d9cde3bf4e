import Daemon
import Foundation
import Logging
import Sensors
import Settings
import Simulation

/// `remotaird sensors`: one round of readings from every configured sensor, for a technician at the board.
/// Exit status 0 unless the configuration is invalid.
public struct SensorsOptions: Sendable, Equatable {
    public var configuration: ConfigurationOptions
    /// One JSON object per line instead of a table.
    public var json: Bool
    /// Longest wait per sensor for its first value, in seconds (hardware only: the simulated board runs on a virtual clock).
    public var timeout: Double

    public init(configuration: ConfigurationOptions = ConfigurationOptions(), json: Bool = false, timeout: Double = 15) {
        self.configuration = configuration
        self.json = json
        self.timeout = timeout
    }
}

public func readSensors(_ options: SensorsOptions, context: ToolContext) async -> ExitStatus {
    do throws(ToolFailure) {
        try await readSensorsOrFail(options, context: context)
        return .success
    } catch {
        context.error(error.message)
        return error.status
    }
}

func readSensorsOrFail(_ options: SensorsOptions, context: ToolContext) async throws(ToolFailure) {
    var configuration: DaemonConfiguration
    let settings = options.configuration
    if settings.simulate, !FileManager.default.fileExists(atPath: settings.file) {
        // Without a configuration file, --simulate reads every chip of the simulated board.
        do {
            configuration = try SimulatedSensors.builtInConfiguration()
        } catch {
            throw ToolFailure("\(error)")
        }
    } else {
        configuration = try settings.load()
    }
    if settings.simulate { configuration.board = .simulated }
    // Logs go to stderr and only when something is wrong: stdout is the readings.
    context.bootstrapLogging(settings.logLevel.flatMap { Logger.Level(rawValue: $0) } ?? .warning)
    let calibration: SensorCalibration.Resolved
    do {
        calibration = try SensorCalibration.load(for: configuration)
    } catch {
        throw ToolFailure("\(error)")
    }
    guard !configuration.sensors.devices.isEmpty else {
        throw ToolFailure("\(configuration.file): no sensors configured (sensors.devices is empty)")
    }
    let simulated = configuration.board == .simulated
    let clock: any SensorClock = simulated ? VirtualClock(start: Date()) : SystemSensorClock()
    let board = try makeBoard(configuration, simulatedSensorClock: clock)
    let readings = SensorReadings()
    let service = SensorService(
        settings: configuration.sensors, calibration: calibration, openBus: board.openI2CBus, readings: readings,
        clock: clock, stateDirectory: nil, logger: Logger(label: "sensors"))
    // A virtual clock is shared: sensors take turns so each sees its own uninterrupted timeline.
    let timeout = simulated ? Duration.seconds(120) : Duration.milliseconds(Int64(max(options.timeout, 1) * 1000))
    let statuses = await service.collectOneRound(timeout: timeout, sequential: simulated)
    let latest = readings.latest()
    for status in statuses {
        let values = latest.filter { $0.sensorID == status.id }
        for line in options.json ? SensorLines.json(status: status, readings: values) : SensorLines.table(status: status, readings: values) {
            context.output(line)
        }
    }
}

/// The lines `remotaird sensors` prints for one sensor: one per reading, or one saying why there is none.
enum SensorLines {
    static func table(status: SensorStatus, readings: [Reading]) -> [String] {
        func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count) }
        let head = pad(status.id, 12) + pad(status.type.rawValue, 8) + pad(status.state.rawValue, 9)
        if readings.isEmpty {
            return [head + "-" + (status.lastError.map { "  (\($0))" } ?? "")]
        }
        return readings.map { reading in
            let value = String(format: "%.2f", reading.value)
            return head + pad(reading.metric.rawValue, 23) + pad(value, 10) + reading.unit + (reading.calibration.map { "  [\($0)]" } ?? "")
        }
    }

    static func json(status: SensorStatus, readings: [Reading]) -> [String] {
        let quoted = JSONText.string
        if readings.isEmpty {
            var line = "{\"sensor\":\(quoted(status.id)),\"type\":\(quoted(status.type.rawValue)),\"state\":\(quoted(status.state.rawValue))"
            if let error = status.lastError { line += ",\"error\":\(quoted(error))" }
            return [line + "}"]
        }
        return readings.map { reading in
            var line = "{\"sensor\":\(quoted(status.id)),\"type\":\(quoted(status.type.rawValue)),\"metric\":\(quoted(reading.metric.rawValue))"
            line += ",\"value\":\((reading.value * 1000).rounded() / 1000),\"unit\":\(quoted(reading.unit)),\"state\":\(quoted(status.state.rawValue))"
            if let serial = reading.serial { line += ",\"serial\":\(quoted(serial))" }
            if let calibration = reading.calibration { line += ",\"calibration\":\(quoted(calibration))" }
            return line + "}"
        }
    }
}
