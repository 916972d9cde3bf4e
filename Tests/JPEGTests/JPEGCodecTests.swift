import Geometry
import CTurboJPEG
import Testing
@testable import JPEG

@Suite("JPEG encode and decode")
struct JPEGCodecTests {
    @Test func roundTripKeepsSizeAndContent() throws {
        let encoder = try JPEGEncoder()
        let decoder = try JPEGDecoder()
        let image = TestImages.scene(width: 96, height: 64)
        let jpeg = try encoder.encode(image, quality: 95)
        #expect(jpeg.starts(with: [0xFF, 0xD8, 0xFF]))
        #expect(Array(jpeg.suffix(2)) == [0xFF, 0xD9])
        let header = try decoder.header(jpeg)
        #expect(header == JPEGHeader(width: 96, height: 64, subsampling: Int32(TJSAMP_420.rawValue), colorspace: Int32(TJCS_YCbCr.rawValue)))
        let decoded = try decoder.decode(jpeg)
        #expect(decoded.width == 96 && decoded.height == 64)
        #expect(TestImages.meanAbsoluteDifference(decoded, image) < 4)
    }

    @Test func handlesAreReusedAcrossManyFrames() throws {
        let encoder = try JPEGEncoder()
        let decoder = try JPEGDecoder()
        for size in [(16, 16), (64, 48), (17, 9), (64, 48)] {
            let jpeg = try encoder.encode(TestImages.scene(width: size.0, height: size.1), quality: 80)
            let decoded = try decoder.decode(jpeg)
            #expect(decoded.width == size.0 && decoded.height == size.1)
        }
    }

    @Test func scalingFactorIsTheSmallestThatCoversTheTarget() throws {
        let decoder = try JPEGDecoder()
        #expect(decoder.scalingFactors.first == .init(numerator: 1, denominator: 8))
        #expect(decoder.scalingFactors.last == .init(numerator: 1, denominator: 1))
        // 1280x720 -> 224x224: 1/4 gives 320x180 (too short), 3/8 gives 480x270.
        #expect(decoder.scalingFactor(forWidth: 1280, height: 720, atLeastWidth: 224, atLeastHeight: 224) == .init(numerator: 3, denominator: 8))
        #expect(decoder.scalingFactor(forWidth: 1280, height: 720, atLeastWidth: 160, atLeastHeight: 90) == .init(numerator: 1, denominator: 8))
        #expect(decoder.scalingFactor(forWidth: 1280, height: 720, atLeastWidth: 161, atLeastHeight: 90) == .init(numerator: 1, denominator: 4))
        #expect(decoder.scalingFactor(forWidth: 1280, height: 720, atLeastWidth: 640, atLeastHeight: 1) == .init(numerator: 1, denominator: 2))
        #expect(decoder.scalingFactor(forWidth: 1280, height: 720, atLeastWidth: 1281, atLeastHeight: 720) == .init(numerator: 1, denominator: 1))
        // libjpeg rounds scaled sizes up: 100 * 1/8 = 12.5 -> 13.
        #expect(JPEGDecoder.ScalingFactor(numerator: 1, denominator: 8).scaled(100) == 13)
    }

    /// The model-input path decodes at the smallest power-of-two scale (libjpeg-turbo's fast IDCTs) at
    /// which the region still covers the input; the region's share of the frame scales the need up.
    @Test(arguments: [
        // frame, region (x, y, w, h), input -> expected scale
        ((1280, 720), (0.0, 0.0, 1.0, 1.0), (224, 224), (1, 2)),     // 3/8 would do (480x270); 1/2 is faster
        ((1280, 720), (0.0, 0.0, 1.0, 1.0), (160, 160), (1, 4)),     // 320x180
        ((1280, 720), (0.0, 0.0, 1.0, 1.0), (96, 96), (1, 4)),       // 1/8 is 160x90: too short
        ((1280, 720), (0.0, 0.0, 1.0, 1.0), (64, 64), (1, 8)),
        ((1280, 720), (0.5, 0.0, 0.5, 1.0), (224, 224), (1, 2)),     // needs 448x224
        ((1280, 720), (0.25, 0.25, 0.25, 0.5), (224, 224), (1, 1)),  // needs 896x448
        ((1920, 1080), (0.0, 0.0, 1.0, 1.0), (224, 224), (1, 4)),    // 480x270
        ((640, 480), (0.0, 0.0, 1.0, 1.0), (224, 224), (1, 2)),      // 320x240
        ((200, 150), (0.0, 0.0, 1.0, 1.0), (224, 224), (1, 1)),      // smaller than the input: full size
        ((1280, 720), (0.8, 0.0, 0.5, 1.0), (224, 224), (1, 2)),     // invalid region: the whole frame
    ] as [((Int, Int), (Double, Double, Double, Double), (Int, Int), (Int, Int))])
    func modelInputScaleIsTheFastestThatCoversTheRegion(frame: (Int, Int), region: (Double, Double, Double, Double),
                                                        input: (Int, Int), expected: (Int, Int)) throws {
        let decoder = try JPEGDecoder()
        let header = JPEGHeader(width: frame.0, height: frame.1, subsampling: Int32(TJSAMP_420.rawValue), colorspace: Int32(TJCS_YCbCr.rawValue))
        let rect = NormalizedRect(x: region.0, y: region.1, width: region.2, height: region.3)
        let scale = decoder.modelInputScale(header: header, region: rect, width: input.0, height: input.1)
        #expect(scale == .init(numerator: expected.0, denominator: expected.1))
        // Below 1/1 the region keeps at least the input's pixels.
        if scale.numerator != scale.denominator {
            let used = rect.isValid ? rect : .full
            #expect(Double(scale.scaled(frame.0)) * used.width >= Double(input.0) - 1e-9)
            #expect(Double(scale.scaled(frame.1)) * used.height >= Double(input.1) - 1e-9)
        }
    }

    @Test func decodeIntoReusesTheImageStorage() throws {
        let encoder = try JPEGEncoder()
        let decoder = try JPEGDecoder()
        let jpeg = try encoder.encode(TestImages.scene(width: 320, height: 180), quality: 85)
        let other = try encoder.encode(RGBImage(width: 320, height: 180, filledWith: (200, 100, 50)), quality: 85)
        let half = JPEGDecoder.ScalingFactor(numerator: 1, denominator: 2)
        var image = RGBImage(width: 0, height: 0, pixels: [])
        try jpeg.withUnsafeBytes { try decoder.decode($0, scale: half, header: decoder.header($0), into: &image) }
        #expect(image.width == 160 && image.height == 90 && image.isWellFormed)
        let storage = image.pixels.withUnsafeBufferPointer { $0.baseAddress }
        try other.withUnsafeBytes { try decoder.decode($0, scale: half, header: decoder.header($0), into: &image) }
        #expect(image.pixels.withUnsafeBufferPointer { $0.baseAddress } == storage)
        #expect(TestImages.meanAbsoluteDifference(image, RGBImage(width: 160, height: 90, filledWith: (200, 100, 50))) < 3)
        // The same pixels as the allocating decode at that scale.
        #expect(try other.withUnsafeBytes { try decoder.decode($0, scale: half) } == image)
    }

    @Test func scaledDecodeProducesTheScaledSize() throws {
        let encoder = try JPEGEncoder()
        let decoder = try JPEGDecoder()
        let jpeg = try encoder.encode(TestImages.scene(width: 1280, height: 720), quality: 85)
        let scaled = try decoder.decode(jpeg, atLeastWidth: 224, atLeastHeight: 224)
        #expect(scaled.width == 480 && scaled.height == 270)
        let small = try decoder.decode(jpeg, atLeastWidth: 100, atLeastHeight: 50)
        #expect(small.width == 160 && small.height == 90)
        // The scaled decode looks like the full decode shrunk the same way.
        let full = try decoder.decode(jpeg)
        let shrunk = ImageResize.areaAverage(full, width: 160, height: 90)
        #expect(TestImages.meanAbsoluteDifference(shrunk, small) < 6)
        let model = ImageResize.areaAverage(scaled, width: 224, height: 224)
        #expect(model.width == 224 && model.height == 224 && model.pixels.count == 224 * 224 * 3)
    }

    @Test func grayscaleDecodesToRGB() throws {
        let encoder = try JPEGEncoder()
        let decoder = try JPEGDecoder()
        let jpeg = try encoder.encode(TestImages.scene(width: 40, height: 24), quality: 90, subsampling: .gray)
        let header = try decoder.header(jpeg)
        #expect(header.isGrayscale)
        #expect(header.subsampling == Int32(TJSAMP_GRAY.rawValue))
        let image = try decoder.decode(jpeg)
        #expect(image.pixels.count == 40 * 24 * 3)
        for index in stride(from: 0, to: image.pixels.count, by: 3) {
            #expect(image.pixels[index] == image.pixels[index + 1] && image.pixels[index] == image.pixels[index + 2])
        }
    }

    @Test func encoderStillWritesValidBaselineAfterAProgressiveEncode() throws {
        // libturbojpeg 2.1.5 keeps a progressive scan script on the handle; see JPEGEncoder.
        let image = TestImages.scene(width: 80, height: 48)
        let fresh = try JPEGEncoder().encode(image, quality: 90)
        let encoder = try JPEGEncoder()
        _ = try encoder.encode(image, quality: 90, progressive: true)
        let baseline = try encoder.encode(image, quality: 90)
        #expect(baseline == fresh)
        #expect(try JPEGDecoder().decode(baseline).width == 80)
        #expect(try encoder.encode(image, quality: 90, progressive: true) != baseline)
    }

    @Test func progressiveDecodes() throws {
        let encoder = try JPEGEncoder()
        let decoder = try JPEGDecoder()
        let image = TestImages.scene(width: 80, height: 48)
        let progressive = try encoder.encode(image, quality: 90, progressive: true)
        #expect(TestImages.contains(progressive, marker: 0xC2))  // SOF2: progressive DCT
        #expect(!TestImages.contains(progressive, marker: 0xC0))
        let decoded = try decoder.decode(progressive)
        #expect(decoded.width == 80 && decoded.height == 48)
        #expect(TestImages.meanAbsoluteDifference(decoded, image) < 5)
        let scaled = try decoder.decode(progressive, atLeastWidth: 20, atLeastHeight: 12)
        #expect(scaled.width == 20 && scaled.height == 12)
    }

    @Test func cmykIsRefusedByName() throws {
        let encoder = try JPEGEncoder()
        let decoder = try JPEGDecoder()
        let cmyk = [UInt8](repeating: 60, count: 32 * 16 * 4)
        let jpeg = try encoder.compress(cmyk, width: 32, height: 16, pixelFormat: Int32(TJPF_CMYK.rawValue),
                                        subsampling: Int32(TJSAMP_444.rawValue), quality: 90, progressive: false)
        let header = try decoder.header(jpeg)
        #expect(header.isFourComponent)
        let error = #expect(throws: JPEGError.self) { try decoder.decode(jpeg) }
        guard case .unsupported(let text)? = error?.kind else {
            Issue.record("expected unsupported, got \(String(describing: error))")
            return
        }
        #expect(text.contains("YCCK") || text.contains("CMYK"))
    }

    @Test func yuyvEncodesWithoutColourConversion() throws {
        let encoder = try JPEGEncoder()
        let decoder = try JPEGDecoder()
        // Mid-grey (Y 128, neutral chroma) left half, white (Y 255) right half.
        let width = 32, height = 16
        var yuyv = [UInt8]()
        for _ in 0..<height {
            for pair in 0..<(width / 2) {
                let luma: UInt8 = pair < width / 4 ? 128 : 255
                yuyv += [luma, 128, luma, 128]
            }
        }
        let jpeg = try encoder.encodeYUYV(yuyv, width: width, height: height, quality: 95)
        let header = try decoder.header(jpeg)
        #expect(header.subsampling == Int32(TJSAMP_422.rawValue))
        let image = try decoder.decode(jpeg)
        let left = Int(image.pixels[(8 * width + 2) * 3])
        let right = Int(image.pixels[(8 * width + 29) * 3])
        #expect(abs(left - 128) <= 3)
        #expect(right >= 250)
    }

    @Test func limitedRangeYUYVIsExpandedToFullRange() throws {
        // Video-range black (Y 16) and white (Y 235) with neutral chroma become 0 and 255.
        let encoder = try JPEGEncoder()
        let decoder = try JPEGDecoder()
        var yuyv = [UInt8]()
        for _ in 0..<16 {
            for pair in 0..<16 { yuyv += pair < 8 ? [16, 128, 16, 128] : [235, 128, 235, 128] }
        }
        let full = try decoder.decode(try encoder.encodeYUYV(yuyv, width: 32, height: 16, quality: 95, limitedRange: true))
        #expect(full.pixels[(8 * 32 + 2) * 3] <= 3)
        #expect(full.pixels[(8 * 32 + 29) * 3] >= 252)
        let asIs = try decoder.decode(try encoder.encodeYUYV(yuyv, width: 32, height: 16, quality: 95))
        #expect(abs(Int(asIs.pixels[(8 * 32 + 2) * 3]) - 16) <= 3)
    }

    @Test func yuyvWithDriverStridePadding() throws {
        let encoder = try JPEGEncoder()
        let decoder = try JPEGDecoder()
        let width = 16, height = 8, stride = 48  // 32 bytes of pixels + 16 bytes padding per line
        var yuyv = [UInt8](repeating: 0, count: stride * height)
        for row in 0..<height {
            for byte in 0..<(width * 2) { yuyv[row * stride + byte] = byte % 2 == 0 ? 200 : 128 }
        }
        let image = try decoder.decode(try encoder.encodeYUYV(yuyv, width: width, height: height, quality: 90, bytesPerLine: stride))
        #expect(image.pixels.allSatisfy { abs(Int($0) - 200) <= 3 })
    }

    @Test func badEncoderArgumentsAreNamed() throws {
        let encoder = try JPEGEncoder()
        #expect(throws: JPEGError.self) { try encoder.encodeYUYV([UInt8](repeating: 0, count: 30), width: 15, height: 1, quality: 80) }
        #expect(throws: JPEGError.self) { try encoder.encodeYUYV([UInt8](repeating: 0, count: 10), width: 16, height: 1, quality: 80) }
        #expect(throws: JPEGError.self) { try encoder.encode(RGBImage(width: 4, height: 4, pixels: [1, 2, 3]), quality: 80) }
        #expect(throws: JPEGError.self) { try encoder.encode(TestImages.scene(width: 8, height: 8), quality: 0) }
    }
}
