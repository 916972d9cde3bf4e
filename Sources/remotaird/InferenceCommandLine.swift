import Foundation
import Inference
import Settings

/// Shared parts of `remotaird classify` and `remotaird infer`: argument parsing with the documented exit
/// statuses (2 for usage errors and models that do not load, 1 when an input fails), model resolution
/// and JSON output.
///
/// These subcommands parse their own arguments so that a usage error exits 2, as their contract says,
/// rather than ArgumentParser's 64.
struct InferenceCommandLine {
    var model: String?
    var config: String?
    var json = false
    var npy: String?
    /// `infer --repeat N`: run N times and report the median latency on stderr (for scripts/bench/bench-classifier).
    var repeatCount = 1
    var positional: [String] = []

    struct UsageError: Error { let message: String }

    /// Parses `arguments`; `valueOptions` are the options that take a value.
    init(_ arguments: [String], valueOptions: Set<String>, flags: Set<String>) throws(UsageError) {
        var index = 0
        var onlyPositional = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlyPositional || !argument.hasPrefix("-") || argument == "-" {
                positional.append(argument)
                continue
            }
            if argument == "--" { onlyPositional = true; continue }
            var name = argument, inlineValue: String?
            if let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            if flags.contains(name) {
                guard inlineValue == nil else { throw UsageError(message: "\(name) takes no value") }
                if name == "--json" { json = true }
            } else if valueOptions.contains(name) {
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else {
                    guard index < arguments.count else { throw UsageError(message: "\(name) needs a value") }
                    value = arguments[index]
                    index += 1
                }
                guard !value.isEmpty else { throw UsageError(message: "\(name) needs a value") }
                switch name {
                case "--model": model = value
                case "--config": config = value
                case "--npy": npy = value
                case "--repeat":
                    guard let count = Int(value), (1...100_000).contains(count) else { throw UsageError(message: "--repeat needs a count from 1 to 100000") }
                    repeatCount = count
                default: break
                }
            } else {
                throw UsageError(message: "unknown option \(argument)")
            }
        }
    }

    /// Inference settings from configuration: the --config file, or the default file when it exists.
    func settings() throws(UsageError) -> (InferenceSettings, DaemonConfiguration?) {
        let path = config ?? DaemonConfiguration.defaultPath
        guard config != nil || FileManager.default.fileExists(atPath: path) else { return (InferenceSettings(), nil) }
        do {
            let configuration = try DaemonConfiguration.load(file: path)
            return (configuration.inference, configuration)
        } catch {
            throw UsageError(message: "\(error)")
        }
    }

    /// The model: --model, else `inference.model`, else the `model:` of `classifier.yaml` in the calibration folder.
    func modelPath(settings: InferenceSettings, configuration: DaemonConfiguration?) throws(UsageError) -> String {
        if let model { return model }
        if let model = settings.model { return model }
        let directory = configuration?.calibrationDirectory ?? "/etc/remotair/calibration"
        let calibration = (directory as NSString).appendingPathComponent("classifier.yaml")
        guard FileManager.default.fileExists(atPath: calibration) else {
            throw UsageError(message: "no model: pass --model PATH, set inference.model, or provide \(calibration)")
        }
        do {
            return try ClassifierCalibration.load(file: calibration).model
        } catch {
            throw UsageError(message: "\(error)")
        }
    }

    /// Loads the classifier; a model that does not load is exit status 2.
    func classifier() throws(UsageError) -> Classifier {
        let (settings, configuration) = try settings()
        let path = try modelPath(settings: settings, configuration: configuration)
        do {
            let classifier = try Classifier(modelPath: path, settings: settings)
            for warning in classifier.modelMetadata.warnings { printError("warning: \(path): \(warning)") }
            return classifier
        } catch {
            throw UsageError(message: "model \(path): \(error)")
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("remotaird: \(message)\n".utf8))
}

/// JSON string literal with the escapes JSON requires.
func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case let c where c.value < 0x20: out += "\\u00" + String(c.value >> 4, radix: 16) + String(c.value & 15, radix: 16)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// A JSON number for a probability or a time: rounded, never NaN or infinite (those become null).
func jsonNumber(_ value: Double, decimals: Int) -> String {
    guard value.isFinite else { return "null" }
    let scale = pow(10.0, Double(decimals))
    return "\((value * scale).rounded() / scale)"
}

/// `value` with exactly `decimals` digits after the point, rounded half away from zero (what
/// `String(format: "%.Nf")` prints for the values shown here, without Foundation's formatter).
func fixed(_ value: Double, decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<max(decimals, 0) { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    guard value.isFinite, scaled < 1e15 else { return "\(value)" }
    let units = Int(scaled), divisor = Int(scale)
    var fraction = String(units % divisor)
    fraction = String(repeating: "0", count: max(decimals - fraction.count, 0)) + fraction
    let sign = value < 0 && units != 0 ? "-" : ""
    return decimals > 0 ? "\(sign)\(units / divisor).\(fraction)" : "\(sign)\(units)"
}
