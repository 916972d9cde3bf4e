import JPEG
import Settings

/// What the quality gate found wrong with a frame. The flags travel with the frame, so a
/// classifier verdict on a useless frame is not trusted, and a blocked lens is reported as a
/// camera problem rather than as a dirty duct.
public struct QualityFlags: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Mean brightness too low (illumination failed, lens covered).
    public static let tooDark = QualityFlags(rawValue: 1 << 0)
    /// Mean brightness too high (LED glare, overexposure).
    public static let overexposed = QualityFlags(rawValue: 1 << 1)
    /// Too little high-frequency content (out of focus, fogged lens).
    public static let blurred = QualityFlags(rawValue: 1 << 2)
    /// Most of the frame is one flat region: something sits on the lens.
    public static let lensBlocked = QualityFlags(rawValue: 1 << 3)
    /// A large part of the frame is flat: a smear or deposit on the lens.
    public static let lensDirty = QualityFlags(rawValue: 1 << 4)

    static let names: [(QualityFlags, String)] = [
        (.tooDark, "too_dark"), (.overexposed, "overexposed"), (.blurred, "blurred"),
        (.lensBlocked, "lens_blocked"), (.lensDirty, "lens_dirty"),
    ]

    /// The flag names (`too_dark`, `blurred`, ...), in a fixed order.
    public var names: [String] { Self.names.filter { contains($0.0) }.map(\.1) }

    /// `ok` or the names joined with commas.
    public var description: String { isEmpty ? "ok" : names.joined(separator: ",") }
}

/// The measurements behind the flags, for logs and for calibrating thresholds.
public struct QualityReport: Sendable, Equatable {
    public var flags: QualityFlags
    /// Mean grey level 0...255.
    public var meanBrightness: Double
    /// Variance of the 4-neighbour Laplacian of the grey image.
    public var sharpness: Double
    /// Fraction of grid cells without texture.
    public var uniformFraction: Double

    public init(flags: QualityFlags, meanBrightness: Double, sharpness: Double, uniformFraction: Double) {
        self.flags = flags
        self.meanBrightness = meanBrightness
        self.sharpness = sharpness
        self.uniformFraction = uniformFraction
    }

    /// True when nothing is wrong: the frame may be classified and trusted.
    public var usable: Bool { flags.isEmpty }

    /// One line for logs and `remotaird capture`: `flags=ok brightness=112.4 sharpness=431.0 uniform=0.04`.
    public var summary: String {
        "flags=\(flags) brightness=\(Self.format(meanBrightness)) sharpness=\(Self.format(sharpness)) uniform=\(Self.format(uniformFraction, digits: 2))"
    }

    static func format(_ value: Double, digits: Int = 1) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        return "\(rounded)"
    }
}

/// A grey (luma) image, 8 bits per pixel.
public struct GreyImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// BT.601 luma from RGB, in integer arithmetic (weights 77/150/29 out of 256).
    public init(_ image: RGBImage) {
        width = image.width
        height = image.height
        var grey = [UInt8](repeating: 0, count: image.width * image.height)
        image.pixels.withUnsafeBufferPointer { rgb in
            for index in 0..<grey.count {
                let r = Int(rgb[index * 3]), g = Int(rgb[index * 3 + 1]), b = Int(rgb[index * 3 + 2])
                grey[index] = UInt8((77 * r + 150 * g + 29 * b + 128) >> 8)
            }
        }
        pixels = grey
    }
}

/// The image-quality gate: plain statistics on a small grey image, thresholds from calibration.
public enum ImageQuality {
    /// Assesses an RGB image (any size; it is shrunk to `calibration.analysisWidth` first).
    public static func assess(_ image: RGBImage, calibration: QualityCalibration) -> QualityReport {
        guard image.isWellFormed else {
            return QualityReport(flags: [.tooDark, .blurred, .lensBlocked], meanBrightness: 0, sharpness: 0, uniformFraction: 1)
        }
        let width = min(image.width, calibration.analysisWidth)
        let height = max(1, Int((Double(image.height) * Double(width) / Double(image.width)).rounded()))
        let small = ImageResize.areaAverage(image, width: width, height: height)
        return assess(GreyImage(small), calibration: calibration)
    }

    /// Assesses a grey image as given (no resizing).
    public static func assess(_ grey: GreyImage, calibration: QualityCalibration) -> QualityReport {
        let mean = meanBrightness(grey)
        let sharpness = laplacianVariance(grey)
        let uniform = uniformFraction(grey, columns: calibration.gridColumns, rows: calibration.gridRows,
                                      textureBelow: calibration.flatCellTextureBelow)
        var flags: QualityFlags = []
        if mean < calibration.tooDarkBelow { flags.insert(.tooDark) }
        if mean > calibration.overexposedAbove { flags.insert(.overexposed) }
        if sharpness < calibration.blurredBelow { flags.insert(.blurred) }
        if uniform >= calibration.lensBlockedFraction {
            flags.insert(.lensBlocked)
        } else if uniform >= calibration.lensDirtyFraction {
            flags.insert(.lensDirty)
        }
        return QualityReport(flags: flags, meanBrightness: mean, sharpness: sharpness, uniformFraction: uniform)
    }

    public static func meanBrightness(_ grey: GreyImage) -> Double {
        guard !grey.pixels.isEmpty else { return 0 }
        var total = 0
        for value in grey.pixels { total += Int(value) }
        return Double(total) / Double(grey.pixels.count)
    }

    /// Variance of the Laplacian (kernel 0 1 0 / 1 -4 1 / 0 1 0) over the interior pixels: the usual
    /// focus measure (Pech-Pacheco et al.); a blurred image has few edges, so a small variance.
    public static func laplacianVariance(_ grey: GreyImage) -> Double {
        let width = grey.width, height = grey.height
        guard width >= 3, height >= 3 else { return 0 }
        var sum = 0.0, sumSquares = 0.0
        grey.pixels.withUnsafeBufferPointer { p in
            for y in 1..<(height - 1) {
                for x in 1..<(width - 1) {
                    let center = y * width + x
                    let value = Int(p[center - width]) + Int(p[center + width]) + Int(p[center - 1]) + Int(p[center + 1]) - 4 * Int(p[center])
                    sum += Double(value)
                    sumSquares += Double(value * value)
                }
            }
        }
        let count = Double((width - 2) * (height - 2))
        let mean = sum / count
        return max(0, sumSquares / count - mean * mean)
    }

    /// Fraction of grid cells without texture (mean absolute Laplacian below `textureBelow`): a large
    /// region without texture means something sits on or smears the lens. A duct wall under the
    /// camera's own light always shows seams, scratches and sensor noise.
    public static func uniformFraction(_ grey: GreyImage, columns: Int, rows: Int, textureBelow: Double) -> Double {
        let width = grey.width, height = grey.height
        guard width >= 3, height >= 3 else { return 1 }
        let innerWidth = width - 2, innerHeight = height - 2
        let columns = max(1, min(columns, innerWidth)), rows = max(1, min(rows, innerHeight))
        var sums = [Double](repeating: 0, count: columns * rows)
        var counts = [Int](repeating: 0, count: columns * rows)
        grey.pixels.withUnsafeBufferPointer { p in
            for y in 1..<(height - 1) {
                let row = min(rows - 1, (y - 1) * rows / innerHeight)
                for x in 1..<(width - 1) {
                    let center = y * width + x
                    let value = Int(p[center - width]) + Int(p[center + width]) + Int(p[center - 1]) + Int(p[center + 1]) - 4 * Int(p[center])
                    let cell = row * columns + min(columns - 1, (x - 1) * columns / innerWidth)
                    sums[cell] += Double(abs(value))
                    counts[cell] += 1
                }
            }
        }
        var flat = 0
        for cell in sums.indices where sums[cell] / Double(max(counts[cell], 1)) < textureBelow { flat += 1 }
        return Double(flat) / Double(columns * rows)
    }
}
