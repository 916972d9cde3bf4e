import Foundation
import Settings
import Testing
import TestSupport

@Suite("Calibration files")
struct CalibrationTests {
    @Test("the shipped risk.yaml validates")
    func shippedRisk() throws {
        let risk = try RiskCalibration.load(file: PackagePaths.root + "/Calibration/risk.yaml")
        #expect(risk.window == 3 && risk.required == 2)
        #expect(risk.airQuality["pm2_5"]?.alarm == 50)
        #expect(risk.airQuality["humidity"]?.sustain == .seconds(6 * 3600))
        #expect(risk.fusion == "any")
    }

    @Test("a rule for a metric no sensor provides is refused")
    func unknownMetric() {
        let error = #expect(throws: ConfigurationError.self) {
            try RiskCalibration.parse("air_quality:\n  radon: {alarm: 300, clear: 100}\n", file: "risk.yaml")
        }
        #expect(error?.keyPath == "air_quality.radon")
    }

    @Test("a clear level that gives no hysteresis is refused")
    func noHysteresis() {
        let error = #expect(throws: ConfigurationError.self) {
            try RiskCalibration.parse("air_quality:\n  co2: {warn: 1000, alarm: 1500, clear: 1200}\n", file: "risk.yaml")
        }
        #expect(error?.keyPath == "air_quality.co2.clear")
    }

    @Test("k cannot exceed n")
    func kOverN() {
        let error = #expect(throws: ConfigurationError.self) {
            try RiskCalibration.parse("cameras:\n  window: 2\n  required: 3\n", file: "risk.yaml")
        }
        #expect(error?.keyPath == "cameras.required")
    }

    static let classifier = """
    model: duct-classifier.onnx
    model_sha256: \(String(repeating: "ab", count: 32))
    labels: [clean, dirty]
    alarm_label: dirty
    thresholds:
      dirty: {raise: 0.62, clear: 0.47}
    report:
      f1: 0.93
    """

    @Test("classifier.yaml: paths resolve next to it, thresholds are read")
    func classifierParses() throws {
        let calibration = try ClassifierCalibration.parse(Self.classifier, file: "/etc/remotair/calibration/classifier.yaml")
        #expect(calibration.model == "/etc/remotair/calibration/duct-classifier.onnx")
        #expect(calibration.alarmThresholds == .init(raise: 0.62, clear: 0.47))
        #expect(calibration.report["f1"] == "0.93")
    }

    @Test("classifier.yaml: thresholds for a label the model does not have, or clear above raise, are refused", arguments: [
        ("thresholds:\n  dirty: {raise: 0.62, clear: 0.47}", "thresholds:\n  dusty: {raise: 0.62, clear: 0.47}", "thresholds.dusty"),
        ("{raise: 0.62, clear: 0.47}", "{raise: 0.5, clear: 0.6}", "thresholds.dirty.clear"),
        ("alarm_label: dirty", "alarm_label: mouldy", "alarm_label"),
        ("labels: [clean, dirty]", "labels: [dirty]", "labels"),
    ])
    func classifierRefuses(original: String, replacement: String, keyPath: String) {
        let text = Self.classifier.replacingOccurrences(of: original, with: replacement)
        let error = #expect(throws: ConfigurationError.self) { try ClassifierCalibration.parse(text, file: "c.yaml") }
        #expect(error?.keyPath == keyPath)
    }
}
