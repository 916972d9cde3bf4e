// `remotaird sensors`: one round of readings from every configured sensor, for a technician at the board.
import ArgumentParser
import Daemon
import Foundation
import Journal
import Logging
import Sensors
import Settings

struct SensorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sensors",
        abstract: "Read every configured sensor once and print the readings (a table, or JSON lines with --json).",
        discussion: """
            Each sensor is started, waited for through its warm-up (SCD4x about 5 s, SPS30 8 s, SGP41 10 s \
            conditioning plus the gas index algorithm's 45 s blackout) up to --timeout, read once and stopped. \
            A sensor still warming up at the timeout is reported as `warming` with no value; one that does not \
            answer as `absent`. On the simulated board (--simulate) the emulators run on a virtual clock, so \
            warm-ups take no real time and every sensor reports a value. Without a configuration file, \
            --simulate uses all six simulated chips on bus sim-i2c-1. Exit status 0 unless the configuration \
            is invalid.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Flag(name: .long, help: "One JSON object per line instead of a table.")
    var json = false

    @Option(name: .long, help: "Longest wait per sensor for its first value, in seconds (hardware: sensors run in parallel).")
    var timeout: Double = 15

    /// The simulated board's chips, used by --simulate when no configuration file exists.
    static let simulatedDefault = """
        device_id: simulated
        board: simulated
        sensors:
          devices:
            - {id: sps30, type: sps30, bus: sim-i2c-1}
            - {id: scd4x, type: scd4x, bus: sim-i2c-1}
            - {id: sgp41, type: sgp41, bus: sim-i2c-1}
            - {id: sht4x, type: sht4x, bus: sim-i2c-1}
            - {id: sdp8xx, type: sdp8xx, bus: sim-i2c-1}
            - {id: bme280, type: bme280, bus: sim-i2c-1}
        """

    func run() async throws {
        var configuration: DaemonConfiguration
        if options.simulate, !FileManager.default.fileExists(atPath: options.config) {
            configuration = try DaemonConfiguration.parse(Self.simulatedDefault, file: "<built-in simulated board>")
        } else {
            configuration = try options.load()
        }
        if options.simulate { configuration.board = .simulated }
        // Logs go to stderr and only when something is wrong: stdout is the readings.
        JournalLogHandler.bootstrap(level: options.logLevel.flatMap { Logger.Level(rawValue: $0) } ?? .warning)
        let calibration: SensorCalibration.Resolved
        do {
            calibration = try SensorCalibration.load(for: configuration)
        } catch {
            throw failure("\(error)")
        }
        guard !configuration.sensors.devices.isEmpty else {
            throw failure("\(configuration.file): no sensors configured (sensors.devices is empty)")
        }
        let simulated = configuration.board == .simulated
        let clock: any SensorClock = simulated ? VirtualClock(start: Date()) : SystemSensorClock()
        let board: Board = simulated ? .simulated(configuration: configuration, sensorClock: clock) : .hardware(configuration: configuration)
        let readings = SensorReadings()
        let service = SensorService(
            settings: configuration.sensors, calibration: calibration, openBus: board.openI2CBus, readings: readings,
            clock: clock, stateDirectory: nil, logger: Logger(label: "sensors"))
        // A virtual clock is shared: sensors take turns so each sees its own uninterrupted timeline.
        let timeout = simulated ? Duration.seconds(120) : Duration.milliseconds(Int64(max(timeout, 1) * 1000))
        let statuses = await service.collectOneRound(timeout: timeout, sequential: simulated)
        let latest = readings.latest()
        for status in statuses {
            let values = latest.filter { $0.sensorID == status.id }
            if json {
                printJSON(status: status, readings: values)
            } else {
                printTable(status: status, readings: values)
            }
        }
    }

    private func printTable(status: SensorStatus, readings: [Reading]) {
        func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count) }
        let head = pad(status.id, 12) + pad(status.type.rawValue, 8) + pad(status.state.rawValue, 9)
        if readings.isEmpty {
            print(head + "-" + (status.lastError.map { "  (\($0))" } ?? ""))
            return
        }
        for reading in readings {
            let value = String(format: "%.2f", reading.value)
            print(head + pad(reading.metric.rawValue, 23) + pad(value, 10) + reading.unit + (reading.calibration.map { "  [\($0)]" } ?? ""))
        }
    }

    private func printJSON(status: SensorStatus, readings: [Reading]) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        func quoted(_ text: String) -> String {
            (try? String(decoding: encoder.encode(text), as: UTF8.self)) ?? "\"\""
        }
        if readings.isEmpty {
            var line = "{\"sensor\":\(quoted(status.id)),\"type\":\(quoted(status.type.rawValue)),\"state\":\(quoted(status.state.rawValue))"
            if let error = status.lastError { line += ",\"error\":\(quoted(error))" }
            print(line + "}")
            return
        }
        for reading in readings {
            var line = "{\"sensor\":\(quoted(status.id)),\"type\":\(quoted(status.type.rawValue)),\"metric\":\(quoted(reading.metric.rawValue))"
            line += ",\"value\":\((reading.value * 1000).rounded() / 1000),\"unit\":\(quoted(reading.unit)),\"state\":\(quoted(status.state.rawValue))"
            if let serial = reading.serial { line += ",\"serial\":\(quoted(serial))" }
            if let calibration = reading.calibration { line += ",\"calibration\":\(quoted(calibration))" }
            print(line + "}")
        }
    }
}
