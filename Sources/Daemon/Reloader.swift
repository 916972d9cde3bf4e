import Foundation
import Inference
import Logging
import Monitoring
import Settings

/// Hot reload (SIGHUP, `remotairctl reload`): configuration, calibration and model are loaded and
/// validated completely first; only then does the monitor switch to them. On any error the running set
/// stays and the error is logged and returned. Settings that belong to devices and sockets (cameras,
/// sensors, GPIO, control, outbox, uplink) need a restart; a reload says so when they changed. A changed
/// `mqtt:` section goes to the MQTT sink's supervisor, which reconnects with it; a changed `log_level` applies
/// at once.
public actor Reloader {
    let daemon: Daemon
    let monitor: Monitor
    let logger: Logger
    private var current: DaemonConfiguration
    /// Hands a changed `mqtt:` section (nil: removed) to the MQTT sink.
    let mqttChanged: @Sendable (MQTTSettings?) -> Void
    /// Sets the process's log level (the configuration's `log_level`, or `--log-level` when it was given).
    let logLevelChanged: @Sendable (LogLevelSetting) -> Void

    init(daemon: Daemon, monitor: Monitor, logger: Logger,
         mqttChanged: @escaping @Sendable (MQTTSettings?) -> Void = { _ in },
         logLevelChanged: @escaping @Sendable (LogLevelSetting) -> Void = { _ in }) {
        self.daemon = daemon
        self.monitor = monitor
        self.logger = logger
        self.current = daemon.configuration
        self.mqttChanged = mqttChanged
        self.logLevelChanged = logLevelChanged
    }

    public enum Outcome: Sendable {
        case reloaded([String])
        case failed(String)
    }

    /// The configuration in force: the file as last loaded, with the command-line overrides on top.
    public var configuration: DaemonConfiguration { current }

    /// The file read again, with the command-line overrides given at start on top: they stay in force.
    static func configuration(reloading file: String, overrides: CommandLineOverrides) throws(ConfigurationError) -> DaemonConfiguration {
        var next = try DaemonConfiguration.load(file: file)
        overrides.apply(to: &next)
        return next
    }

    public func reload() async -> Outcome {
        let next: DaemonConfiguration
        do {
            next = try Self.configuration(reloading: current.file, overrides: daemon.overrides)
        } catch {
            logger.error("reload refused; keeping the running configuration", metadata: ["error": .string(error.description)])
            return .failed(error.description)
        }
        let modelSet: ModelSet
        do {
            modelSet = try ModelSet.load(configuration: next, version: Daemon.version, classifierDirectory: daemon.models.folder)
        } catch {
            logger.error("reload refused; keeping the running model and calibration", metadata: ["error": .string(error.description)])
            return .failed(error.description)
        }
        // The Ground Truth label attribute is uplink configuration: like the rest of it, it waits for a restart.
        var settings = modelSet.settings
        settings.labelAttribute = await monitor.currentSettings.labelAttribute
        await monitor.reload(settings: settings,
                             classifier: ModelFrameClassifier(classifier: modelSet.classifier, modelVersion: modelSet.provenance.modelVersion),
                             provenance: modelSet.provenance)
        var needsRestart: [String] = []
        if next.cameras != current.cameras { needsRestart.append("cameras") }
        if next.sensors != current.sensors { needsRestart.append("sensors") }
        if next.gpio != current.gpio { needsRestart.append("gpio") }
        if next.control != current.control { needsRestart.append("control") }
        if next.outbox != current.outbox { needsRestart.append("outbox") }
        if next.uplink != current.uplink { needsRestart.append("uplink") }
        if next.mqtt != current.mqtt {
            logger.notice("mqtt section changed; reconnecting with it", metadata: ["enabled": .stringConvertible(next.mqtt != nil)])
            mqttChanged(next.mqtt)
        }
        if next.logLevel != current.logLevel {
            // Said before the change, so the line is there even when the new level hides notices.
            logger.notice("log level changed", metadata: ["from": .string(current.logLevel.rawValue), "to": .string(next.logLevel.rawValue)])
            logLevelChanged(next.logLevel)
        }
        if !needsRestart.isEmpty {
            logger.warning("reloaded; these sections changed and take effect at the next restart", metadata: ["sections": .string(needsRestart.joined(separator: ","))])
        }
        current = next
        logger.notice("reloaded", metadata: ["model_sha256": .string(modelSet.classifier.modelSHA256), "model": .string(modelSet.calibration.classifier.model)])
        return .reloaded(["configuration", "calibration", "model"])
    }
}
