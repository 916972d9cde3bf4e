import Foundation

/// `Calibration/classifier.yaml`: which model runs, its labels, and the thresholds chosen for it when it was
/// trained (written by scripts/toolchain/train-classifier).
public struct ClassifierCalibration: Sendable, Equatable {
    /// Raise and clear thresholds for one label (clear < raise: hysteresis).
    public struct Thresholds: Sendable, Equatable {
        public var raise: Double
        public var clear: Double

        public init(raise: Double, clear: Double) {
            self.raise = raise
            self.clear = clear
        }
    }

    public var file: String
    /// Absolute path of the model.
    public var model: String
    /// Expected SHA-256 of the model file (hex), when recorded.
    public var modelSHA256: String?
    public var modelVersion: String?
    public var labels: [String]
    /// The label whose probability means "dirty duct".
    public var alarmLabel: String
    public var thresholds: [String: Thresholds]
    /// The training report's summary, kept for alarm provenance and `status`.
    public var report: [String: String]

    /// Thresholds of the alarm label.
    public var alarmThresholds: Thresholds? { thresholds[alarmLabel] }

    public static func load(file: String, environment: [String: String] = [:]) throws(ConfigurationError) -> ClassifierCalibration {
        try ClassifierCalibration(root: ConfigSource.load(file: file, environment: environment))
    }

    public static func parse(_ text: String, file: String) throws(ConfigurationError) -> ClassifierCalibration {
        try ClassifierCalibration(root: ConfigSource(file: file, environment: [:]).parse(text))
    }

    init(root: ConfigNode) throws(ConfigurationError) {
        let map = try root.mapping()
        file = root.source.file
        model = try map.required("model").path()
        if let hash = try map.optional("model_sha256") {
            let text = try hash.string().lowercased()
            guard text.count == 64, text.allSatisfy(\.isHexDigit) else { throw hash.error(.invalid("must be 64 hexadecimal digits")) }
            modelSHA256 = text
        }
        modelVersion = try map.optional("model_version")?.string()
        let labelsNode = try map.required("labels")
        labels = try labelsNode.list().map { node throws(ConfigurationError) in try node.string() }
        guard labels.count >= 2 else { throw labelsNode.error(.invalid("a classifier needs at least two labels")) }
        guard Set(labels).count == labels.count else { throw labelsNode.error(.invalid("labels must be distinct")) }
        let alarmNode = try map.required("alarm_label")
        alarmLabel = try alarmNode.string()
        guard labels.contains(alarmLabel) else {
            throw alarmNode.error(.invalid("'\(alarmLabel)' is not one of the labels \(labels.joined(separator: ", "))"))
        }
        var thresholds: [String: Thresholds] = [:]
        let thresholdsMap = try map.required("thresholds").mapping()
        for label in thresholdsMap.keys {
            let node = try thresholdsMap.required(label)
            guard labels.contains(label) else { throw node.error(.invalid("'\(label)' is not one of the labels \(labels.joined(separator: ", "))")) }
            let pair = try node.mapping()
            let raise = try pair.required("raise").double(in: 0.0...1.0)
            let clearNode = try pair.required("clear")
            let clear = try clearNode.double(in: 0.0...1.0)
            guard clear < raise else { throw clearNode.error(.invalid("clear (\(clear)) must be lower than raise (\(raise)) for hysteresis")) }
            try pair.finish()
            thresholds[label] = Thresholds(raise: raise, clear: clear)
        }
        try thresholdsMap.finish()
        guard thresholds[alarmLabel] != nil else {
            throw ConfigurationError(file: file, keyPath: "thresholds.\(alarmLabel)", line: nil, problem: .missingKey)
        }
        self.thresholds = thresholds
        var report: [String: String] = [:]
        if let node = try map.optional("report") {
            let reportMap = try node.mapping()
            for key in reportMap.keys { report[key] = try reportMap.required(key).string() }
            try reportMap.finish()
        }
        self.report = report
        try map.finish()
    }
}
