import Foundation
import Risk
import Settings

/// The calibration files the main job runs on, loaded and cross-checked together so a reload swaps all
/// of them or none.
public struct CalibrationSet: Sendable {
    public var classifier: ClassifierCalibration
    public var risk: RiskCalibration

    /// Loads `classifier.yaml` from the calibration directory and the risk rules.
    public static func load(directory: String, riskFile: String) throws(ConfigurationError) -> CalibrationSet {
        let classifierFile = (directory as NSString).appendingPathComponent("classifier.yaml")
        let classifier = try ClassifierCalibration.load(file: classifierFile)
        let risk = try RiskCalibration.load(file: riskFile)
        guard FileManager.default.isReadableFile(atPath: classifier.model) else {
            throw ConfigurationError(file: classifierFile, keyPath: "model", problem: .invalid("model file \(classifier.model) does not exist or is not readable"))
        }
        return CalibrationSet(classifier: classifier, risk: risk)
    }

    /// The risk engine's settings: camera thresholds from the classifier's calibration, the rest from risk.yaml.
    public var riskSettings: RiskSettings {
        let thresholds = classifier.alarmThresholds ?? .init(raise: 0.5, clear: 0.4)
        let camera = CameraRiskSettings(
            raiseThreshold: thresholds.raise, clearThreshold: thresholds.clear,
            required: risk.required, window: risk.window, minimumDwell: risk.minimumDwell.seconds)
        let rules = risk.airQuality.mapValues { rule in
            LevelRuleSettings(warn: rule.warn, alarm: rule.alarm, clear: rule.clear, sustain: rule.sustain.seconds,
                              direction: rule.direction == "below" ? .below : .above)
        }
        return RiskSettings(
            camera: camera, fusion: FusionPolicy(rawValue: risk.fusion) ?? .any, airQuality: rules,
            cameraOfflineAfter: risk.cameraOfflineAfter.seconds, sensorFaultedAfter: risk.sensorFaultedAfter.seconds,
            lensBlockedCaptures: risk.lensBlockedCaptures, outboxFullFraction: risk.outboxFullFraction)
    }
}

extension Duration {
    /// Seconds as a floating-point number (the risk engine works in `TimeInterval`).
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
