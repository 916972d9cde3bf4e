/// Thresholds of the image-quality gate, from `quality.yaml` in the calibration folder. Values are
/// on 8-bit grey levels of the frame downscaled to `analysisWidth` pixels wide.
public struct QualityCalibration: Sendable, Equatable {
    /// Width of the grey image the gate analyses (smaller is faster and less noise-sensitive).
    public var analysisWidth: Int = 160
    /// Mean brightness below this: too dark (illumination failed, lens covered in the dark).
    public var tooDarkBelow: Double = 60
    /// Mean brightness above this: overexposed.
    public var overexposedAbove: Double = 215
    /// Variance of the Laplacian below this: blurred (out of focus, fogged or smeared lens).
    public var blurredBelow: Double = 25
    /// Grid over the image for the uniform-region heuristic.
    public var gridColumns: Int = 8
    public var gridRows: Int = 6
    /// A grid cell whose mean absolute Laplacian is below this has no texture: flat, or a smooth
    /// blur such as a deposit on the lens (a gradient has a large spread but no texture).
    public var flatCellTextureBelow: Double = 2
    /// This fraction of uniform cells or more: lens blocked.
    public var lensBlockedFraction: Double = 0.6
    /// This fraction or more (but less than blocked): part of the lens covered or smeared.
    public var lensDirtyFraction: Double = 0.3

    public init() {}

    /// Reads and validates a calibration file.
    public static func load(file: String) throws(ConfigurationError) -> QualityCalibration {
        try QualityCalibration(root: ConfigSource.load(file: file, environment: [:]))
    }

    /// Parses calibration text (tests).
    public static func parse(_ text: String, file: String = "quality.yaml") throws(ConfigurationError) -> QualityCalibration {
        try QualityCalibration(root: ConfigSource(file: file, environment: [:]).parse(text))
    }

    public init(root: ConfigNode) throws(ConfigurationError) {
        let map = try root.mapping()
        analysisWidth = try map.int("analysis_width", default: analysisWidth, in: 16...1024)
        try map.section("brightness") { m throws(ConfigurationError) in
            tooDarkBelow = try m.double("too_dark_below", default: tooDarkBelow, in: 0...255)
            overexposedAbove = try m.double("overexposed_above", default: overexposedAbove, in: 0...255)
        }
        guard tooDarkBelow < overexposedAbove else {
            throw root.error(.invalid("brightness.too_dark_below must be below brightness.overexposed_above"))
        }
        try map.section("sharpness") { m throws(ConfigurationError) in
            blurredBelow = try m.double("blurred_below", default: blurredBelow, in: 0...100_000)
        }
        try map.section("uniformity") { m throws(ConfigurationError) in
            gridColumns = try m.int("grid_columns", default: gridColumns, in: 1...64)
            gridRows = try m.int("grid_rows", default: gridRows, in: 1...64)
            flatCellTextureBelow = try m.double("cell_texture_below", default: flatCellTextureBelow, in: 0...255)
            lensBlockedFraction = try m.double("lens_blocked_fraction", default: lensBlockedFraction, in: 0...1)
            lensDirtyFraction = try m.double("lens_dirty_fraction", default: lensDirtyFraction, in: 0...1)
        }
        guard lensDirtyFraction <= lensBlockedFraction else {
            throw root.error(.invalid("uniformity.lens_dirty_fraction must not exceed lens_blocked_fraction"))
        }
        try map.finish()
    }
}
