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
        let half = try decoder.decode(jpeg, region: NormalizedRect(x: 0.5, y: 0, width: 0.5, height: 1), width: 224, height: 224)
        #expect(half.width == 224 && half.height == 224)
        // Same pixels as cropping and resizing a full decode, within JPEG scaling differences.
        let reference = ImageResize.cropAndResize(try decoder.decode(jpeg), region: NormalizedRect(x: 0.5, y: 0, width: 0.5, height: 1), width: 224, height: 224)
        #expect(TestImages.meanAbsoluteDifference(half, reference) < 4)
    }
}
