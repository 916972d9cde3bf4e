import Foundation
import Inference
import Settings

/// The real runtime: our ONNX loader and int8 plan, and `Classifier.classify(jpeg:)`, the decode-and-classify
/// path every capture takes, so a bundle's reference frames are checked on exactly what will decide alarms.
public struct ClassifierRuntime: ModelRuntime {
    public var settings: InferenceSettings

    public init(settings: InferenceSettings) {
        self.settings = settings
    }

    public func load(model: Data) throws(ModelRefusal) -> Classifier {
        do {
            return try Classifier(modelBytes: model, settings: settings)
        } catch {
            throw .modelLoad(error.description)
        }
    }
}

extension Classifier: LoadedModel {
    public var sha256: String { modelSHA256 }

    public func scores(jpeg: [UInt8]) throws(ModelRefusal) -> [String: Double] {
        do {
            return try classify(jpeg: jpeg).scores
        } catch {
            throw .malformed(file: "reference frame", problem: "does not classify: \(error.description)")
        }
    }
}
