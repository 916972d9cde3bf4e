import Geometry
import CAllocationCounter
import Foundation
import Inference
import JPEG
import Settings
import Testing
import TestSupport

/// The classifier's fused resize (C kernels) against the reference path: decode to RGB, then the JPEG
/// target's Swift area resize (`AreaResizer`), round to 8 bits, normalise.
@Suite struct InputResamplerTests {
    static let mean: [Float] = ModelMetadata.defaultMean
    static let std: [Float] = ModelMetadata.defaultStd

    /// A camera-like frame: smooth colour gradients, a few hard edges and sensor noise.
    static func frame(width: Int, height: Int, seed: UInt64 = 7) -> RGBImage {
        var state = seed
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let noise = Int((state >> 33) % 17) - 8
                let edge = (x / 37 + y / 23) % 2 == 0 ? 40 : 0
                let base = [x * 200 / max(width, 1) + 20, y * 180 / max(height, 1) + edge, (x + y) * 120 / max(width + height, 1) + 60]
                for channel in 0..<3 { pixels[(y * width + x) * 3 + channel] = UInt8(clamping: base[channel] + noise) }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// The reference tensor: Swift area resize of the RGB image, rounded, normalised.
    static func reference(_ image: RGBImage, crop: PixelRect, width: Int, height: Int) -> [Float] {
        var resizer = AreaResizer()
        var tensor = [Float](repeating: 0, count: 3 * width * height)
        let std = SIMD3(std[0], std[1], std[2]), mean = SIMD3(mean[0], mean[1], mean[2])
        tensor.withUnsafeMutableBufferPointer {
            _ = resizer.resizePlanar(image, crop: crop, width: width, height: height, scale: 1 / (255 * std), offset: -mean / std, into: $0)
        }
        return tensor
    }

    /// Per value differences in 8-bit levels: (max, mean).
    static func levels(_ a: [Float], _ b: [Float], width: Int, height: Int) -> (max: Double, mean: Double) {
        var largest = 0.0, total = 0.0
        for index in a.indices {
            let channel = index / (width * height)
            let difference = Double(abs(a[index] - b[index])) * 255 * Double(std[channel])
            largest = max(largest, difference)
            total += difference
        }
        return (largest, total / Double(a.count))
    }

    func tensor(_ preprocessor: Preprocessor, _ image: RGBImage, roi: NormalizedRect? = nil) throws -> [Float] {
        var tensor = [Float](repeating: .nan, count: 3 * preprocessor.width * preprocessor.height)
        var resampler = InputResampler()
        try tensor.withUnsafeMutableBufferPointer { try preprocessor.tensor(from: image, regionOfInterest: roi, into: $0, resampler: &resampler) }
        return tensor
    }

    func tensor(_ preprocessor: Preprocessor, _ image: YCbCrImage, roi: NormalizedRect? = nil) throws -> [Float] {
        var tensor = [Float](repeating: .nan, count: 3 * preprocessor.width * preprocessor.height)
        var resampler = InputResampler()
        try tensor.withUnsafeMutableBufferPointer { try preprocessor.tensor(from: image, regionOfInterest: roi, into: $0, resampler: &resampler) }
        return tensor
    }

    /// The C kernel computes the Swift resize's weights and sums: every value within one 8-bit level
    /// (a sum exactly at .5 may round the other way where the C compiler fuses a multiply-add), almost all equal.
    @Test(arguments: [(640, 360, 224, 224), (641, 359, 224, 224), (17, 9, 5, 3), (1, 1, 4, 4), (100, 60, 100, 60), (30, 20, 64, 48)])
    func rgbKernelMatchesTheSwiftResize(source: (Int, Int, Int, Int)) throws {
        let (sourceWidth, sourceHeight, width, height) = source
        let image = Self.frame(width: sourceWidth, height: sourceHeight)
        for resize in [InferenceSettings.ResizeMode.stretch, .centerCrop] {
            for roi in [nil, NormalizedRect(x: 0.13, y: 0.21, width: 0.6, height: 0.7)] {
                let preprocessor = Preprocessor(width: width, height: height, mean: Self.mean, std: Self.std, resize: resize)
                let region = preprocessor.sourceRegion(imageWidth: sourceWidth, imageHeight: sourceHeight, regionOfInterest: roi)
                let expected = Self.reference(image, crop: PixelRect(region, imageWidth: sourceWidth, height: sourceHeight), width: width, height: height)
                let actual = try tensor(preprocessor, image, roi: roi)
                let (largest, mean) = Self.levels(actual, expected, width: width, height: height)
                #expect(largest <= 1.0001 && mean < 0.01, "\(source) \(resize) \(String(describing: roi)): max \(largest), mean \(mean)")
            }
        }
    }

    /// Decoding to YCbCr planes and converting per output pixel gives the RGB path's tensor within a few
    /// levels (12 at most, 2 on average), for every chroma layout libturbojpeg names, odd sizes, progressive files and regions of interest.
    @Test(arguments: [JPEGEncoder.Subsampling.s444, .s422, .s420, .s440, .s411])
    func planesMatchTheRGBPath(subsampling: JPEGEncoder.Subsampling) throws {
        let decoder = try JPEGDecoder()
        for (sourceWidth, sourceHeight, width, height) in [(640, 360, 224, 224), (333, 197, 96, 64), (19, 11, 8, 8), (1, 1, 2, 2)] {
            let image = Self.frame(width: sourceWidth, height: sourceHeight)
            for progressive in [false, true] {
                // A fresh encoder each time: libturbojpeg 2.1.5 writes a corrupt baseline JPEG with a compressor
                // that made a progressive one before (the progressive scan script stays).
                let jpeg = try JPEGEncoder().encode(image, quality: 90, subsampling: subsampling, progressive: progressive)
                let header = try decoder.header(jpeg)
                #expect(header.decodesToPlanes)
                for roi in [nil, NormalizedRect(x: 0.31, y: 0.05, width: 0.55, height: 0.8)] {
                    let preprocessor = Preprocessor(width: width, height: height, mean: Self.mean, std: Self.std, resize: .centerCrop)
                    let region = preprocessor.sourceRegion(imageWidth: header.width, imageHeight: header.height, regionOfInterest: roi)
                    let scale = decoder.modelInputScale(header: header, region: region, width: width, height: height)
                    var rgb = RGBImage(width: 0, height: 0, pixels: [])
                    var planes = YCbCrImage()
                    try jpeg.withUnsafeBytes { buffer in
                        try decoder.decode(buffer, scale: scale, header: header, into: &rgb)
                        try decoder.decodePlanes(buffer, scale: scale, header: header, into: &planes)
                    }
                    #expect(planes.width == rgb.width && planes.height == rgb.height && planes.planeCount == 3)
                    let (largest, mean) = Self.levels(try tensor(preprocessor, planes, roi: roi), try tensor(preprocessor, rgb, roi: roi),
                                                      width: width, height: height)
                    let label = "\(subsampling) \(sourceWidth)x\(sourceHeight) at \(scale) progressive \(progressive) roi \(String(describing: roi))"
                    // Where the output is barely smaller than the decoded chroma (19x11 at 1/1), libjpeg's fancy
                    // (triangle) upsampling against the box here shows: up to 2 levels on average.
                    #expect(largest <= 12 && mean <= 2, "\(label): max \(largest), mean \(mean) levels")
                }
            }
        }
    }

    /// Greyscale: one plane, R = G = B = Y, the same averages as the RGB path (which decodes R = G = B).
    @Test func greyscaleIsOnePlaneAndMatchesTheRGBPath() throws {
        let encoder = try JPEGEncoder()
        let decoder = try JPEGDecoder()
        let jpeg = try encoder.encode(Self.frame(width: 301, height: 169), quality: 85, subsampling: .gray)
        let header = try decoder.header(jpeg)
        #expect(header.isGrayscale && header.decodesToPlanes)
        let preprocessor = Preprocessor(width: 64, height: 64, mean: Self.mean, std: Self.std, resize: .centerCrop)
        let scale = decoder.modelInputScale(header: header, region: .full, width: 64, height: 64)
        var rgb = RGBImage(width: 0, height: 0, pixels: [])
        var planes = YCbCrImage()
        try jpeg.withUnsafeBytes { buffer in
            try decoder.decode(buffer, scale: scale, header: header, into: &rgb)
            try decoder.decodePlanes(buffer, scale: scale, header: header, into: &planes)
        }
        #expect(planes.planeCount == 1 && planes.samples.count == planes.lumaWidth * planes.lumaHeight)
        let fromPlanes = try tensor(preprocessor, planes)
        let (largest, _) = Self.levels(fromPlanes, try tensor(preprocessor, rgb), width: 64, height: 64)
        #expect(largest <= 1.0001)
        // R, G and B come from the same level.
        let plane = 64 * 64
        for index in stride(from: 0, to: plane, by: 97) {
            let red = fromPlanes[index] * Self.std[0] + Self.mean[0], blue = fromPlanes[2 * plane + index] * Self.std[2] + Self.mean[2]
            #expect(abs(red - blue) < 1e-5)
        }
    }

    /// RGB-coded and four-component JPEGs have no YCbCr planes: refused by name, the classifier decodes
    /// them to RGB (or refuses CMYK as before).
    @Test func planesAreRefusedWithoutYCbCr() throws {
        let decoder = try JPEGDecoder()
        let jpeg = try JPEGEncoder().encode(Self.frame(width: 32, height: 16), quality: 90)
        var header = try decoder.header(jpeg)
        header.colorspace = 3   // TJCS_CMYK
        var planes = YCbCrImage()
        #expect(!header.decodesToPlanes)
        let error = #expect(throws: JPEGError.self) {
            try jpeg.withUnsafeBytes { try decoder.decodePlanes($0, scale: .init(numerator: 1, denominator: 1), header: header, into: &planes) }
        }
        #expect(error?.name == "unsupported" && "\(error.map { "\($0)" } ?? "")".contains("CMYK"))
    }

    /// After the first frame, preprocessing from planes (with a region of interest) allocates nothing.
    @Test func planarPreprocessingAllocatesNothingAfterTheFirstFrame() throws {
        let decoder = try JPEGDecoder()
        let jpeg = try JPEGEncoder().encode(Self.frame(width: 640, height: 360), quality: 90)
        let header = try decoder.header(jpeg)
        var planes = YCbCrImage()
        try jpeg.withUnsafeBytes { try decoder.decodePlanes($0, scale: .init(numerator: 1, denominator: 1), header: header, into: &planes) }
        let preprocessor = Preprocessor(width: 224, height: 224, mean: Self.mean, std: Self.std, resize: .centerCrop)
        var resampler = InputResampler()
        var tensor = [Float](repeating: 0, count: 3 * 224 * 224)
        let roi = NormalizedRect(x: 0.1, y: 0.1, width: 0.8, height: 0.8)
        try tensor.withUnsafeMutableBufferPointer { buffer in
            try preprocessor.tensor(from: planes, regionOfInterest: roi, into: buffer, resampler: &resampler)   // first frame: tables
            let start = remotair_thread_allocations()
            for _ in 0..<3 { try preprocessor.tensor(from: planes, regionOfInterest: roi, into: buffer, resampler: &resampler) }
            let allocations = remotair_thread_allocations() - start
            #expect(allocations == 0, "\(allocations) heap allocations in 3 frames")
        }
        #expect(tensor.allSatisfy { $0.isFinite })
    }
}

/// The shipped model on every simulation frame: the planar path (what `classify(jpeg:)` does) against
/// the RGB path (decode to RGB at the same scale, resize): tensors within a few levels, same labels,
/// scores within 0.05 (measured: 0.028 at most, below 0.01 on 17 of the 20 frames).
@Suite struct PlanarPathOnSimulationFramesTests {
    @Test func planarPathKeepsEveryLabel() throws {
        let root = PackagePaths.root
        let calibration = try ClassifierCalibration.load(file: root + "/Calibration/classifier.yaml")
        let classifier = try Classifier(modelPath: calibration.model)
        let preprocessor = classifier.preprocessor
        let decoder = try JPEGDecoder()
        let frames = root + "/Calibration/simulation/frames"
        var worst = 0.0, meanSum = 0.0, scoreWorst = 0.0, count = 0
        for folder in try FileManager.default.contentsOfDirectory(atPath: frames).sorted() {
            for file in try FileManager.default.contentsOfDirectory(atPath: frames + "/" + folder).sorted() where file.hasSuffix(".jpg") {
                let jpeg = try [UInt8](Data(contentsOf: URL(fileURLWithPath: frames + "/" + folder + "/" + file)))
                let header = try decoder.header(jpeg)
                let region = preprocessor.sourceRegion(imageWidth: header.width, imageHeight: header.height, regionOfInterest: nil)
                let scale = decoder.modelInputScale(header: header, region: region, width: preprocessor.width, height: preprocessor.height)
                var rgb = RGBImage(width: 0, height: 0, pixels: [])
                var planes = YCbCrImage()
                try jpeg.withUnsafeBytes { buffer in
                    try decoder.decode(buffer, scale: scale, header: header, into: &rgb)
                    try decoder.decodePlanes(buffer, scale: scale, header: header, into: &planes)
                }
                var viaRGB = [Float](repeating: 0, count: 3 * preprocessor.width * preprocessor.height)
                var viaPlanes = viaRGB
                var resampler = InputResampler()
                try viaRGB.withUnsafeMutableBufferPointer { try preprocessor.tensor(from: rgb, into: $0, resampler: &resampler) }
                try viaPlanes.withUnsafeMutableBufferPointer { try preprocessor.tensor(from: planes, into: $0, resampler: &resampler) }
                let (largest, mean) = InputResamplerTests.levels(viaPlanes, viaRGB, width: preprocessor.width, height: preprocessor.height)
                let planar = try classifier.classify(jpeg: jpeg)
                let reference = try classifier.classify(image: rgb)
                let scoreDifference = classifier.labels.map { abs((planar.scores[$0] ?? 0) - (reference.scores[$0] ?? 0)) }.max() ?? 0
                #expect(planar.label == reference.label, "\(folder)/\(file): \(planar.scores) vs \(reference.scores)")
                #expect(scoreDifference < 0.05 && largest <= 8 && mean < 1, "\(folder)/\(file): scores \(scoreDifference), levels max \(largest) mean \(mean)")
                worst = max(worst, largest)
                meanSum += mean
                scoreWorst = max(scoreWorst, scoreDifference)
                count += 1
            }
        }
        #expect(count >= 20)
        print("planar vs RGB path on \(count) simulation frames: tensor max \(worst) levels, mean \(meanSum / Double(max(count, 1))) levels; scores max difference \(scoreWorst)")
    }
}

/// The input QuantizeLinear fused into the preprocessor: where the plan allows it, writing the quantized
/// channels-last bytes and skipping that step gives the same output as the float tensor through the whole plan.
@Suite struct QuantizedInputTests {
    @Test func fusedInputQuantizationGivesTheUnfusedOutput() throws {
        let fixtures = try Fixtures.load()
        let decoder = try JPEGDecoder()
        let jpeg = try JPEGEncoder().encode(InputResamplerTests.frame(width: 200, height: 120), quality: 90)
        let header = try decoder.header(jpeg)
        var planes = YCbCrImage()
        try jpeg.withUnsafeBytes { try decoder.decodePlanes($0, scale: .init(numerator: 1, denominator: 1), header: header, into: &planes) }
        let rgb = try decoder.decode(jpeg)
        var fused: [String] = []
        for item in fixtures.cases {
            let plan = try ExecutionPlan(model: fixtures.model(item.name))
            guard plan.inputShape.count == 4, plan.inputShape[1] == 3,
                  let quantization = plan.inputQuantization, let bytes = plan.quantizedInputBuffer else { continue }
            fused.append(item.name)
            #expect(bytes.count == plan.inputCount)
            let preprocessor = Preprocessor(width: plan.inputShape[3], height: plan.inputShape[2], mean: InputResamplerTests.mean,
                                            std: InputResamplerTests.std, resize: .centerCrop)
            let roi = NormalizedRect(x: 0.1, y: 0.2, width: 0.7, height: 0.6)
            for source in ["planes", "rgb"] {
                var resampler = InputResampler()
                var tensor = [Float](repeating: 0, count: plan.inputCount)
                try tensor.withUnsafeMutableBufferPointer { buffer in
                    if source == "planes" {
                        try preprocessor.tensor(from: planes, regionOfInterest: roi, into: buffer, resampler: &resampler)
                    } else {
                        try preprocessor.tensor(from: rgb, regionOfInterest: roi, into: buffer, resampler: &resampler)
                    }
                }
                let unfused = try plan.run(input: tensor)
                if source == "planes" {
                    try preprocessor.write(planes, regionOfInterest: roi, into: .quantized(bytes, quantization), resampler: &resampler)
                } else {
                    try preprocessor.write(rgb, regionOfInterest: roi, into: .quantized(bytes, quantization), resampler: &resampler)
                }
                var output = [Float](repeating: .nan, count: plan.outputCount)
                try output.withUnsafeMutableBufferPointer { try plan.runQuantized(output: $0) }
                #expect(output == unfused, "\(item.name) from \(source)")
            }
        }
        #expect(fused.count >= 3, "fused: \(fused)")
        #expect(fused.contains("mobilenet_v2_qdq_pc"))
    }

    @Test func floatModelsKeepTheirInput() throws {
        let plan = try ExecutionPlan(model: Fixtures.load().model("mobilenet_v2_float"))
        #expect(plan.inputQuantization == nil && plan.quantizedInputBuffer == nil)
        var output = [Float](repeating: 0, count: plan.outputCount)
        #expect(throws: InferenceError.self) { try output.withUnsafeMutableBufferPointer { try plan.runQuantized(output: $0) } }
    }

    /// The classifier uses the fused path for such a model: its scores are the float tensor's through the whole plan.
    @Test func classifierUsesTheFusedPath() throws {
        let classifier = try Classifier(modelPath: Fixtures.load().path("mobilenet_v2_qdq_pc", ".onnx"))
        let image = InputResamplerTests.frame(width: 96, height: 64)
        let result = try classifier.classify(image: image)
        var tensor = [Float](repeating: 0, count: 3 * 32 * 32)
        try tensor.withUnsafeMutableBufferPointer { try classifier.preprocessor.tensor(from: image, into: $0) }
        let (_, output) = try classifier.run(input: tensor)
        let largest = output.map(Double.init).max() ?? 0
        let exps = output.map { Foundation.exp(Double($0) - largest) }
        #expect(result.scores["dirty"] == exps[1] / exps.reduce(0, +))
    }
}

/// Untrusted frames through the planar path: tiny and odd sizes classify, absurd dimensions are refused.
@Suite struct PlanarPathUntrustedInputTests {
    @Test func oddSizesClassifyAndHugeDimensionsAreRefused() throws {
        let classifier = try Classifier(modelPath: Fixtures.load().path("mobilenet_v2_qdq_pc", ".onnx"))
        for (width, height) in [(1, 1), (7, 3), (17, 33), (250, 9)] {
            for subsampling in [JPEGEncoder.Subsampling.s420, .s411, .gray] {
                let jpeg = try JPEGEncoder().encode(InputResamplerTests.frame(width: width, height: height), quality: 80, subsampling: subsampling)
                let result = try classifier.classify(jpeg: jpeg)
                #expect(result.scores.values.allSatisfy { $0.isFinite }, "\(width)x\(height) \(subsampling)")
            }
        }
        // The frame header claims 65535 x 65535 (beyond libjpeg's 65500 limit): refused before any buffer is sized.
        var jpeg = try JPEGEncoder().encode(InputResamplerTests.frame(width: 16, height: 16), quality: 80)
        let sof = try #require(jpeg.indices.first { $0 + 8 < jpeg.count && jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        for offset in 5...8 { jpeg[sof + offset] = 0xFF }
        #expect(throws: InferenceError.self) { try classifier.classify(jpeg: jpeg) }
    }
}
