import Geometry
import Testing
import JPEG

@Suite("Area-average resize and crop")
struct ImageResizeTests {
    @Test func halvingAveragesBlocks() {
        // 4x2 grey values: each 2x2 block averages to one output pixel.
        let values: [UInt8] = [0, 100, 200, 250,
                               40, 60, 210, 240]
        let image = RGBImage(width: 4, height: 2, pixels: values.flatMap { [$0, $0, $0] })
        let half = ImageResize.areaAverage(image, width: 2, height: 1)
        #expect(half.pixels == [50, 50, 50, 225, 225, 225])
    }

    @Test func fractionalCoverageIsWeighted() {
        // 3 -> 2 columns: out0 = (a + b/2) / 1.5, out1 = (b/2 + c) / 1.5.
        let values: [UInt8] = [0, 90, 180]
        let image = RGBImage(width: 3, height: 1, pixels: values.flatMap { [$0, $0, $0] })
        let resized = ImageResize.areaAverage(image, width: 2, height: 1)
        #expect(resized.pixels == [30, 30, 30, 150, 150, 150])
    }

    @Test func uniformStaysUniformAtAnyRatio() {
        let image = RGBImage(width: 480, height: 270, filledWith: (10, 120, 250))
        let resized = ImageResize.areaAverage(image, width: 224, height: 224)
        #expect(resized.width == 224 && resized.height == 224)
        #expect(resized == RGBImage(width: 224, height: 224, filledWith: (10, 120, 250)))
    }

    @Test func cropTakesTheNormalisedRegion() {
        var pixels = [UInt8]()
        for y in 0..<10 { for x in 0..<20 { pixels += [UInt8(x), UInt8(y), 0] } }
        let image = RGBImage(width: 20, height: 10, pixels: pixels)
        let cropped = ImageResize.crop(image, to: NormalizedRect(x: 0.25, y: 0.5, width: 0.5, height: 0.5))
        #expect(cropped.width == 10 && cropped.height == 5)
        #expect(Array(cropped.pixels.prefix(3)) == [5, 5, 0])
        #expect(Array(cropped.pixels.suffix(3)) == [14, 9, 0])
        // An invalid region is ignored rather than trusted.
        #expect(ImageResize.crop(image, to: NormalizedRect(x: 0.8, y: 0, width: 0.5, height: 1)) == image)
    }
}

@Suite("Model input preprocessing")
struct ModelInputTests {
    @Test func regionIsDecodedAtAScaleThatStillCoversTheTarget() throws {
        let jpeg = try JPEGEncoder().encode(TestImages.scene(width: 1280, height: 720), quality: 85)
        let decoder = try JPEGDecoder()
        let whole = try decoder.decode(jpeg, region: .full, width: 224, height: 224)
        #expect(whole.width == 224 && whole.height == 224)
        // The right half of the frame needs 448 decoded columns: 3/8 (480 wide) is the smallest scale.
        #expect(decoder.scalingFactor(forWidth: 1280, height: 720, atLeastWidth: 448, atLeastHeight: 224) == .init(numerator: 3, denominator: 8))
        // The model-input path takes the fastest scale that still covers it: 1/2 (640 wide), not 3/8.
        let header = try decoder.header(jpeg)
        #expect(decoder.modelInputScale(header: header, region: NormalizedRect(x: 0.5, y: 0, width: 0.5, height: 1), width: 224, height: 224)
                == .init(numerator: 1, denominator: 2))
        let half = try decoder.decode(jpeg, region: NormalizedRect(x: 0.5, y: 0, width: 0.5, height: 1), width: 224, height: 224)
        #expect(half.width == 224 && half.height == 224)
        // Same pixels as cropping and resizing a full decode, within JPEG scaling differences.
        let reference = ImageResize.cropAndResize(try decoder.decode(jpeg), region: NormalizedRect(x: 0.5, y: 0, width: 0.5, height: 1), width: 224, height: 224)
        #expect(TestImages.meanAbsoluteDifference(half, reference) < 4)
    }
}

@Suite("Reusable area resizer")
struct AreaResizerTests {
    /// Area average by definition, in Double: each output pixel is the mean of the source area it
    /// covers, every source pixel weighted by the fraction of it inside that area.
    static func reference(_ image: RGBImage, crop: PixelRect, width: Int, height: Int) -> [UInt8] {
        let sx = Double(crop.width) / Double(width), sy = Double(crop.height) / Double(height)
        var out = [UInt8]()
        for oy in 0..<height {
            for ox in 0..<width {
                var sums = [0.0, 0.0, 0.0]
                for y in 0..<crop.height {
                    let cy = min(Double(y + 1), Double(oy + 1) * sy) - max(Double(y), Double(oy) * sy)
                    guard cy > 0 else { continue }
                    for x in 0..<crop.width {
                        let cx = min(Double(x + 1), Double(ox + 1) * sx) - max(Double(x), Double(ox) * sx)
                        guard cx > 0 else { continue }
                        let index = ((crop.top + y) * image.width + crop.left + x) * 3
                        for channel in 0..<3 { sums[channel] += Double(image.pixels[index + channel]) * cx * cy }
                    }
                }
                for channel in 0..<3 { out.append(UInt8(min(255, sums[channel] / (sx * sy) + 0.5))) }
            }
        }
        return out
    }

    @Test(arguments: [(48, 27, 22, 22), (37, 23, 10, 7), (20, 10, 20, 10), (9, 5, 12, 8)])
    func matchesTheDefinitionForCropsAndRatios(sourceWidth: Int, sourceHeight: Int, width: Int, height: Int) {
        var random = TestImages.SplitMix(state: UInt64(sourceWidth * 1000 + width))
        let image = RGBImage(width: sourceWidth, height: sourceHeight,
                             pixels: (0..<(sourceWidth * sourceHeight * 3)).map { _ in UInt8.random(in: 0...255, using: &random) })
        var resizer = AreaResizer()
        for crop in [PixelRect(left: 0, top: 0, width: sourceWidth, height: sourceHeight),
                     PixelRect(NormalizedRect(x: 0.3, y: 0.2, width: 0.6, height: 0.7), imageWidth: sourceWidth, height: sourceHeight)] {
            var output = RGBImage(width: 0, height: 0, pixels: [])
            #expect(resizer.resize(image, crop: crop, width: width, height: height, into: &output))
            let expected = Self.reference(image, crop: crop, width: width, height: height)
            // Float against Double sums: a value within rounding distance of .5 may land one step apart.
            let worst = zip(output.pixels, expected).map { abs(Int($0) - Int($1)) }.max() ?? 0
            #expect(output.width == width && output.height == height && worst <= 1, "crop \(crop): off by \(worst)")
        }
    }

    @Test func planarOutputIsTheRoundedImageNormalised() {
        let image = TestImages.scene(width: 96, height: 54)
        var resizer = AreaResizer()
        var rgb = RGBImage(width: 0, height: 0, pixels: [])
        resizer.resize(image, width: 32, height: 24, into: &rgb)
        var planes = [Float](repeating: .nan, count: 3 * 32 * 24)
        let scale = SIMD3<Float>(1 / 58.0, 1 / 57.0, 1 / 57.5), offset = SIMD3<Float>(-2.1, -2.0, -1.8)
        let written = planes.withUnsafeMutableBufferPointer {
            resizer.resizePlanar(image, width: 32, height: 24, scale: scale, offset: offset, into: $0)
        }
        #expect(written)
        for pixel in 0..<(32 * 24) {
            for channel in 0..<3 {
                let value = Float(rgb.pixels[pixel * 3 + channel]) * scale[channel] + offset[channel]
                #expect(planes[channel * 32 * 24 + pixel] == value)
            }
        }
        // A tensor of the wrong size is refused, not overrun.
        var short = [Float](repeating: 0, count: 10)
        #expect(!short.withUnsafeMutableBufferPointer { resizer.resizePlanar(image, width: 32, height: 24, scale: scale, offset: offset, into: $0) })
    }

    @Test func sameGeometryReusesTheOutputStorage() {
        var resizer = AreaResizer()
        var output = RGBImage(width: 0, height: 0, pixels: [])
        resizer.resize(TestImages.scene(width: 64, height: 48), width: 16, height: 16, into: &output)
        let first = output.pixels.withUnsafeBufferPointer { $0.baseAddress }
        resizer.resize(RGBImage(width: 64, height: 48, filledWith: (1, 2, 3)), width: 16, height: 16, into: &output)
        #expect(output.pixels.withUnsafeBufferPointer { $0.baseAddress } == first)
        #expect(output == RGBImage(width: 16, height: 16, filledWith: (1, 2, 3)))
    }

    @Test func badCropsAndSizesAreRefused() {
        let image = TestImages.scene(width: 20, height: 10)
        var resizer = AreaResizer()
        var output = RGBImage(width: 0, height: 0, pixels: [])
        #expect(!resizer.resize(image, crop: PixelRect(left: 15, top: 0, width: 10, height: 10), width: 4, height: 4, into: &output))
        #expect(!resizer.resize(image, crop: PixelRect(left: 0, top: 0, width: 0, height: 10), width: 4, height: 4, into: &output))
        #expect(!resizer.resize(image, width: 0, height: 4, into: &output))
        #expect(!resizer.resize(RGBImage(width: 4, height: 4, pixels: [1, 2]), width: 2, height: 2, into: &output))
    }
}
