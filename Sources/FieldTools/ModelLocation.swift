import Foundation
import Inference
import Settings

/// Which model `classify` and `infer` load, and with which inference settings: `--model`, else
/// `inference.model` from configuration, else the `model:` of classifier.yaml in the calibration folder.
/// Every problem is a usage failure (exit 2), as those commands document.
public struct ModelLocation: Sendable, Equatable {
    /// `--model`.
    public var model: String?
    /// `--config`; without it the default file is read when it exists.
    public var config: String?

    public init(model: String? = nil, config: String? = nil) {
        self.model = model
        self.config = config
    }

    /// Inference settings from configuration: the --config file, or the default file when it exists.
    func settings() throws(ToolFailure) -> (InferenceSettings, DaemonConfiguration?) {
        let path = config ?? DaemonConfiguration.defaultPath
        guard config != nil || FileManager.default.fileExists(atPath: path) else { return (InferenceSettings(), nil) }
        do {
            let configuration = try DaemonConfiguration.load(file: path)
            return (configuration.inference, configuration)
        } catch {
            throw ToolFailure("\(error)", status: .usage)
        }
    }

    /// The model file to load.
    func modelPath(settings: InferenceSettings, configuration: DaemonConfiguration?) throws(ToolFailure) -> String {
        if let model { return model }
        if let model = settings.model { return model }
        let directory = configuration?.calibrationDirectory ?? DaemonConfiguration.defaultCalibrationDirectory
        let calibration = (directory as NSString).appendingPathComponent("classifier.yaml")
        guard FileManager.default.fileExists(atPath: calibration) else {
            throw ToolFailure("no model: pass --model PATH, set inference.model, or provide \(calibration)", status: .usage)
        }
        do {
            return try ClassifierCalibration.load(file: calibration).model
        } catch {
            throw ToolFailure("\(error)", status: .usage)
        }
    }

    /// Loads the classifier, printing the model's metadata warnings; a model that does not load is exit status 2.
    public func classifier(context: ToolContext) throws(ToolFailure) -> Classifier {
        for (option, value) in [("--model", model), ("--config", config)] where value == "" {
            throw ToolFailure("\(option) needs a value", status: .usage)
        }
        let (settings, configuration) = try settings()
        let path = try modelPath(settings: settings, configuration: configuration)
        do {
            let classifier = try Classifier(modelPath: path, settings: settings)
            for warning in classifier.modelMetadata.warnings { context.error("warning: \(path): \(warning)") }
            return classifier
        } catch {
            throw ToolFailure("model \(path): \(error)", status: .usage)
        }
    }
}
