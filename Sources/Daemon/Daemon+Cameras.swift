import Foundation
import Health
import Logging
import Settings
import Vision

extension Daemon {
    /// The cameras feature: supervisors, capture coordinator, status LED and button, built from
    /// configuration and the board. Quality thresholds come from `quality.yaml` in the calibration
    /// folder; a missing or invalid file is logged and the built-in defaults are used (the gate
    /// must not stop the cameras).
    public func makeCameraSet(logger: Logger, buttonTrigger: (@Sendable () async -> Void)? = nil) -> CameraSet {
        let calibration = Self.loadQualityCalibration(directory: configuration.calibrationDirectory, logger: logger)
        return CameraSet.make(
            cameras: configuration.cameras, gpio: configuration.gpio, calibration: calibration,
            makeCamera: board.openCamera, openChip: board.openGPIOChip, buttonTrigger: buttonTrigger,
            onStateChange: { [health] name, state in
                health.publish(ComponentName.camera(name), state: state.rawValue)
            },
            logger: Logger(label: "vision"))
    }

    public static func loadQualityCalibration(directory: String, logger: Logger) -> QualityCalibration {
        let file = (directory as NSString).appendingPathComponent("quality.yaml")
        guard FileManager.default.fileExists(atPath: file) else {
            logger.warning("no image-quality calibration; using defaults", metadata: ["file": .string(file)])
            return QualityCalibration()
        }
        do {
            return try QualityCalibration.load(file: file)
        } catch {
            logger.error("image-quality calibration invalid; using defaults", metadata: ["error": .string("\(error)")])
            return QualityCalibration()
        }
    }
}
