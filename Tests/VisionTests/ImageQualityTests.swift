import JPEG
import Settings
import Testing
import TestSupport
@testable import Vision

@Suite("Image-quality gate")
struct ImageQualityTests {
    let calibration: QualityCalibration

    init() throws {
        // The shipped calibration file, so the test covers the thresholds in use.
        calibration = try QualityCalibration.load(file: PackagePaths.root + "/Calibration/quality.yaml")
    }

    /// Through the same path as a camera frame: JPEG, DCT-scaled preview, gate.
    func assess(_ image: RGBImage) throws -> QualityReport {
        let validator = try FrameValidator()
        guard case .success(let frame) = validator.validateJPEG(try Scenes.jpeg(image)) else {
            throw JPEGError(kind: .fatal("generated frame rejected"), call: "test")
        }
        return ImageQuality.assess(frame.preview, calibration: calibration)
    }

    @Test func texturedFrameIsUsable() throws {
        let report = try assess(Scenes.textured())
        #expect(report.flags.isEmpty, "\(report.summary)")
        #expect(report.usable)
    }

    @Test func darkFrameIsFlaggedTooDark() throws {
        let report = try assess(Scenes.dark(Scenes.textured()))
        #expect(report.flags.contains(.tooDark), "\(report.summary)")
        #expect(!report.flags.contains(.overexposed))
    }

    @Test func overexposedFrame() throws {
        let white = RGBImage(width: 160, height: 120, pixels: Scenes.textured().pixels.map { UInt8(min(255, Int($0) + 150)) })
        #expect(try assess(white).flags.contains(.overexposed))
    }

    @Test func blurredFrameIsFlaggedBlurred() throws {
        let sharp = try assess(Scenes.textured())
        let report = try assess(Scenes.blurred(Scenes.textured()))
        #expect(report.flags.contains(.blurred), "\(report.summary)")
        #expect(!report.flags.contains(.tooDark))
        #expect(report.sharpness < sharp.sharpness / 10)
    }

    @Test func blockedLensIsReportedApartFromDirt() throws {
        let report = try assess(Scenes.blocked(Scenes.textured()))
        #expect(report.flags.contains(.lensBlocked), "\(report.summary)")
        #expect(!report.flags.contains(.lensDirty))
        #expect(!report.flags.contains(.tooDark))
        #expect(report.flags.names.contains("lens_blocked"))
    }

    @Test func laplacianVarianceOfKnownPatterns() {
        // A flat image has no edges; a checkerboard of 0/255 has the largest possible response.
        let flat = GreyImage(width: 8, height: 8, pixels: [UInt8](repeating: 100, count: 64))
        #expect(ImageQuality.laplacianVariance(flat) == 0)
        var board = [UInt8]()
        for y in 0..<8 { for x in 0..<8 { board.append((x + y) % 2 == 0 ? 0 : 255) } }
        // Interior Laplacian is +-1020 alternating: variance 1020^2.
        #expect(ImageQuality.laplacianVariance(GreyImage(width: 8, height: 8, pixels: board)) == 1020 * 1020)
        #expect(ImageQuality.uniformFraction(flat, columns: 2, rows: 2, textureBelow: 1) == 1)
    }

    @Test func calibrationRejectsUnknownKeysAndBadOrder() throws {
        #expect(throws: ConfigurationError.self) { try QualityCalibration.parse("brightness: {too_dark_below: 50, bogus: 1}") }
        #expect(throws: ConfigurationError.self) { try QualityCalibration.parse("brightness: {too_dark_below: 200, overexposed_above: 100}") }
        #expect(throws: ConfigurationError.self) { try QualityCalibration.parse("uniformity: {lens_dirty_fraction: 0.9, lens_blocked_fraction: 0.5}") }
        #expect(try QualityCalibration.parse("sharpness: {blurred_below: 12}").blurredBelow == 12)
    }
}
