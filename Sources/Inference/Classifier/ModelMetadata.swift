import Foundation
import Settings

/// How the classifier reads a model's output and prepares its input: from the model's
/// `metadata_props` (`labels`, `mean`, `std`, `resize`, the way Ultralytics stores class names),
/// overridden by configuration, with defaults and a warning for whatever is missing.
public struct ModelMetadata: Sendable, Equatable {
    /// Class names in output order.
    public var labels: [String]
    /// RGB mean on the 0...1 scale.
    public var mean: [Float]
    /// RGB standard deviation on the 0...1 scale.
    public var std: [Float]
    public var resize: InferenceSettings.ResizeMode
    /// One line per value that fell back to a default.
    public var warnings: [String]

    /// ImageNet statistics, what torchvision backbones are trained with.
    public static let defaultMean: [Float] = [0.485, 0.456, 0.406]
    public static let defaultStd: [Float] = [0.229, 0.224, 0.225]

    public init(properties: [String: String], outputCount: Int, settings: InferenceSettings) throws(InferenceError) {
        var warnings: [String] = []
        if let labels = settings.labels {
            self.labels = labels
        } else if let text = properties["labels"] {
            labels = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard labels.allSatisfy({ !$0.isEmpty }), Set(labels).count == labels.count else {
                throw .invalidGraph("metadata labels '\(text)' must be distinct, non-empty, comma-separated names")
            }
        } else {
            labels = (0..<outputCount).map { "class\($0)" }
            warnings.append("model has no 'labels' metadata; using \(labels.joined(separator: ","))")
        }
        guard labels.count == outputCount else {
            throw .invalidGraph("\(labels.count) labels (\(labels.joined(separator: ","))) for \(outputCount) model outputs")
        }
        mean = try Self.triple("mean", override: settings.mean, properties: properties, fallback: Self.defaultMean, warnings: &warnings)
        std = try Self.triple("std", override: settings.std, properties: properties, fallback: Self.defaultStd, warnings: &warnings)
        guard std.allSatisfy({ $0 > 0 }) else { throw .invalidGraph("metadata std \(std) must be positive") }
        if let mode = settings.resize {
            resize = mode
        } else if let text = properties["resize"] {
            guard let mode = InferenceSettings.ResizeMode(rawValue: text) else {
                throw .invalidGraph("metadata resize '\(text)' is not stretch or center_crop")
            }
            resize = mode
        } else {
            resize = .stretch
        }
        self.warnings = warnings
    }

    private static func triple(_ key: String, override: [Double]?, properties: [String: String], fallback: [Float],
                               warnings: inout [String]) throws(InferenceError) -> [Float] {
        if let override { return override.map(Float.init) }
        guard let text = properties[key] else {
            warnings.append("model has no '\(key)' metadata; using \(fallback.map { "\($0)" }.joined(separator: ","))")
            return fallback
        }
        let values = text.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == 3, values.allSatisfy({ $0.isFinite }) else {
            throw .invalidGraph("metadata \(key) '\(text)' is not three comma-separated numbers")
        }
        return values
    }
}
