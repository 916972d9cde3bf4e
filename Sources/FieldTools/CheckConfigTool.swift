import Daemon
import Inference
import Settings
import Simulation

/// `remotaird check-config`: validates a configuration file and what it points to (sensor calibration,
/// classifier and risk calibration, the model, a scenario name) without starting anything; exit 0 or 1.
public func checkConfig(_ options: ConfigurationOptions, context: ToolContext) -> ExitStatus {
    do throws(ToolFailure) {
        let configuration = try options.load()
        do {
            _ = try Scenario.configured(in: configuration)
        } catch {
            throw scenarioFailure(configuration, error)
        }
        do {
            _ = try SensorCalibration.load(for: configuration)
        } catch {
            throw ToolFailure("\(error)")
        }
        // The calibration files and the model they name, cross-checked (labels, model hash, thresholds).
        let modelSet: ModelSet
        do {
            modelSet = try ModelSet.load(configuration: configuration, version: Daemon.version)
        } catch {
            throw ToolFailure(error.description)
        }
        context.output("\(configuration.file): ok (device \(configuration.deviceID), board \(configuration.board.rawValue))")
        context.output("\(modelSet.calibration.classifier.file): ok (labels \(modelSet.classifier.labels.joined(separator: ", ")), model \(modelSet.classifier.modelSHA256.prefix(12)))")
        context.output("\(modelSet.calibration.risk.file): ok (\(modelSet.calibration.risk.airQuality.count) air-quality rules)")
        return .success
    } catch {
        context.error(error.message)
        return error.status
    }
}
