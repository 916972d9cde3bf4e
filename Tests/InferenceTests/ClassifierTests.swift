import Geometry
import Foundation
import Inference
import JPEG
import Settings
import Testing
import TestSupport

@Suite struct ClassifierTests {
    static func image(width: Int, height: Int) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let index = (y * width + x) * 3
                pixels[index] = UInt8(x * 255 / max(width - 1, 1))
                pixels[index + 1] = UInt8(y * 255 / max(height - 1, 1))
                pixels[index + 2] = UInt8((x ^ y) & 0xFF)
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    func classifier(_ name: String, settings: InferenceSettings = InferenceSettings()) throws -> Classifier {
        try Classifier(modelPath: Fixtures.load().path(name, ".onnx"), settings: settings)
    }

    @Test func metadataGivesLabelsAndNormalisation() throws {
        let classifier = try classifier("mobilenet_v2_qdq_pc")
        #expect(classifier.labels == ["clean", "dirty"])
        #expect(classifier.modelMetadata.mean == [0.485, 0.456, 0.406])
        #expect(classifier.modelMetadata.warnings.isEmpty)
        #expect(classifier.appliesSoftmax)
        #expect(classifier.inputShape == [1, 3, 32, 32])
        let resnet = try self.classifier("resnet_qdq_pc")
        #expect(resnet.modelMetadata.resize == .centerCrop)
        #expect(!resnet.appliesSoftmax, "the graph already ends in Softmax")
        #expect(resnet.modelMetadata.warnings.count == 2, "mean and std fall back to defaults with a warning")
    }

    @Test func configurationOverridesMetadata() throws {
        let settings = InferenceSettings(labels: ["a", "b"], mean: [0, 0, 0], std: [1, 1, 1], resize: .centerCrop)
        let classifier = try classifier("mobilenet_v2_qdq_pc", settings: settings)
        #expect(classifier.labels == ["a", "b"])
        #expect(classifier.modelMetadata.std == [1, 1, 1])
        #expect(throws: InferenceError.self) {
            try self.classifier("mobilenet_v2_qdq_pc", settings: InferenceSettings(labels: ["only"]))
        }
    }

    @Test func classifyMatchesRunOnThePreprocessedTensor() throws {
        let classifier = try classifier("mobilenet_v2_float")
        let image = Self.image(width: 96, height: 64)
        let result = try classifier.classify(image: image)
        var tensor = [Float](repeating: 0, count: 3 * 32 * 32)
        try tensor.withUnsafeMutableBufferPointer { buffer in try classifier.preprocessor.tensor(from: image, into: buffer) }
        let (_, output) = try classifier.run(input: tensor)
        let largest = output.max() ?? 0
        let exps = output.map { Foundation.exp(Double($0 - largest)) }
        #expect(abs((result.scores["dirty"] ?? 0) - exps[1] / exps.reduce(0, +)) < 1e-6)
        #expect(abs(result.scores.values.reduce(0, +) - 1) < 1e-9)
    }

    @Test func preprocessingNormalisesIntoNCHW() throws {
        let preprocessor = Preprocessor(width: 2, height: 2, mean: [0.5, 0.5, 0.5], std: [0.5, 0.25, 0.5], resize: .stretch)
        let image = RGBImage(width: 4, height: 4, filledWith: (255, 0, 51))
        var tensor = [Float](repeating: 9, count: 12)
        try tensor.withUnsafeMutableBufferPointer { try preprocessor.tensor(from: image, into: $0) }
        #expect(tensor[0..<4].allSatisfy { abs($0 - 1) < 1e-6 })      // (1 - 0.5) / 0.5
        #expect(tensor[4..<8].allSatisfy { abs($0 + 2) < 1e-6 })      // (0 - 0.5) / 0.25
        #expect(tensor[8..<12].allSatisfy { abs($0 + 0.6) < 1e-6 })   // (0.2 - 0.5) / 0.5
    }

    @Test func regionOfInterestAndCenterCropSelectThePixels() throws {
        // Left half red, right half blue: an ROI on the right half sees only blue.
        var pixels = [UInt8](repeating: 0, count: 8 * 4 * 3)
        for y in 0..<4 { for x in 0..<8 { pixels[(y * 8 + x) * 3 + (x < 4 ? 0 : 2)] = 255 } }
        let image = RGBImage(width: 8, height: 4, pixels: pixels)
        let preprocessor = Preprocessor(width: 2, height: 2, mean: [0, 0, 0], std: [1, 1, 1], resize: .stretch)
        var tensor = [Float](repeating: 0, count: 12)
        try tensor.withUnsafeMutableBufferPointer {
            try preprocessor.tensor(from: image, regionOfInterest: NormalizedRect(x: 0.5, y: 0, width: 0.5, height: 1), into: $0)
        }
        #expect(tensor[0..<4].allSatisfy { $0 == 0 } && tensor[8..<12].allSatisfy { $0 == 1 })
        let crop = Preprocessor(width: 2, height: 2, mean: [0, 0, 0], std: [1, 1, 1], resize: .centerCrop)
        let region = crop.sourceRegion(imageWidth: 8, imageHeight: 4, regionOfInterest: nil)
        #expect(region == NormalizedRect(x: 0.25, y: 0, width: 0.5, height: 1))
        #expect(throws: InferenceError.self) {
            try tensor.withUnsafeMutableBufferPointer {
                try preprocessor.tensor(from: image, regionOfInterest: NormalizedRect(x: 0.8, y: 0, width: 0.5, height: 1), into: $0)
            }
        }
    }

    /// classify(jpeg:) is exactly the frame's YCbCr planes (decoded at the model-input scale) through the
    /// preprocessor and the plan, with and without a region of interest; repeated frames reuse buffers
    /// without changing results; and the scores stay close to the RGB path's (decode to RGB, resize).
    @Test func jpegPathIsTheScaledPlanarDecodeThroughThePreprocessor() throws {
        let classifier = try classifier("mobilenet_v2_qdq_pc")
        let jpeg = try JPEGEncoder().encode(Self.image(width: 320, height: 180), quality: 90)
        let decoder = try JPEGDecoder()
        let header = try decoder.header(jpeg)
        for roi in [nil, NormalizedRect(x: 0.5, y: 0.25, width: 0.5, height: 0.75)] {
            let region = classifier.preprocessor.sourceRegion(imageWidth: header.width, imageHeight: header.height, regionOfInterest: roi)
            let scale = decoder.modelInputScale(header: header, region: region, width: 32, height: 32)
            var planes = YCbCrImage()
            try jpeg.withUnsafeBytes { try decoder.decodePlanes($0, scale: scale, header: header, into: &planes) }
            var tensor = [Float](repeating: 0, count: 3 * 32 * 32)
            var resampler = InputResampler()
            try tensor.withUnsafeMutableBufferPointer {
                try classifier.preprocessor.tensor(from: planes, regionOfInterest: roi, into: $0, resampler: &resampler)
            }
            let (_, output) = try classifier.run(input: tensor)
            let largest = output.max() ?? 0
            let exps = output.map { Foundation.exp(Double($0 - largest)) }
            let rgb = try jpeg.withUnsafeBytes { try decoder.decode($0, scale: scale) }
            let viaRGB = try classifier.classify(image: rgb, regionOfInterest: roi)
            for _ in 0..<2 {
                let result = try classifier.classify(jpeg: jpeg, regionOfInterest: roi)
                #expect(abs((result.scores["dirty"] ?? 0) - exps[1] / exps.reduce(0, +)) < 1e-6, "roi \(String(describing: roi))")
                #expect(abs((result.scores["dirty"] ?? 0) - (viaRGB.scores["dirty"] ?? 0)) < 0.05, "roi \(String(describing: roi))")
            }
        }
    }

    @Test func jpegPathHandlesGreyscaleProgressiveAndCorruptFiles() throws {
        let classifier = try classifier("mobilenet_v2_qdq_pc")
        let encoder = try JPEGEncoder()
        let image = Self.image(width: 320, height: 180)
        let baseline = try encoder.encode(image, quality: 90)
        let progressive = try encoder.encode(image, quality: 90, progressive: true)
        // Greyscale from libjpeg's own cjpeg -grayscale (committed fixture).
        let grey = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.load().directory + "/greyscale.jpg")))
        let fromJPEG = try classifier.classify(jpeg: baseline)
        #expect(classifier.labels.contains(fromJPEG.label))
        #expect(try classifier.classify(jpeg: progressive).label == fromJPEG.label, "progressive")
        #expect(throws: Never.self, "greyscale") { try classifier.classify(jpeg: grey) }
        #expect(throws: Never.self, "region of interest") {
            try classifier.classify(jpeg: baseline, regionOfInterest: NormalizedRect(x: 0.1, y: 0.1, width: 0.5, height: 0.5))
        }
        #expect(throws: InferenceError.self) { try classifier.classify(jpeg: Array("GIF89a not a jpeg".utf8)) }
        #expect(throws: InferenceError.self) { try classifier.classify(jpeg: Array(baseline.prefix(baseline.count / 3))) }
        #expect(throws: InferenceError.self) { try classifier.classify(jpeg: []) }
    }

    @Test func modelHashIsSHA256OfTheFile() throws {
        let path = try Fixtures.load().path("op_relu_float", ".onnx")
        let classifierHash = try? Classifier(modelPath: path).modelSHA256  // not an image model: refused
        #expect(classifierHash == nil)
        let model = try classifier("mobilenet_v2_float")
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.load().path("mobilenet_v2_float", ".onnx")))
        #expect(model.modelSHA256.count == 64)
        // The same digest coreutils computes for the file.
        let sha256sum = Process()
        sha256sum.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        sha256sum.arguments = [try Fixtures.load().path("mobilenet_v2_float", ".onnx")]
        let pipe = Pipe()
        sha256sum.standardOutput = pipe
        try sha256sum.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        sha256sum.waitUntilExit()
        #expect(model.modelSHA256 == output.split(separator: " ").first.map(String.init))
        #expect(!data.isEmpty)
    }

    @Test func npyParsingIsStrict() throws {
        let array = NumPyArray(shape: [1, 3], values: [1.5, -2, 0.25])
        #expect(try NumPyArray(bytes: array.bytes) == array)
        let fixture = try Fixtures.load().array("mobilenet_v2_float", ".input.npy")
        #expect(fixture.shape == [1, 3, 32, 32])
        var fortran = array.bytes
        let text = String(decoding: fortran, as: UTF8.self)
        if let range = text.range(of: "False") {
            let offset = text.utf8.distance(from: text.startIndex, to: range.lowerBound)
            fortran.replaceSubrange(offset..<(offset + 5), with: Array("True ".utf8))
        }
        #expect(throws: InferenceError.self) { try NumPyArray(bytes: fortran) }
        var float64 = array.bytes
        if let offset = String(decoding: float64, as: UTF8.self).utf8.firstRange(of: Array("<f4".utf8))?.lowerBound {
            let index = String(decoding: float64, as: UTF8.self).utf8.distance(from: String(decoding: float64, as: UTF8.self).utf8.startIndex, to: offset)
            float64[index + 2] = UInt8(ascii: "8")
        }
        #expect(throws: InferenceError.self) { try NumPyArray(bytes: float64) }
        #expect(throws: InferenceError.self) { try NumPyArray(bytes: Array(array.bytes.dropLast())) }
        #expect(throws: InferenceError.self) { try NumPyArray(bytes: Array("hello".utf8)) }
    }
}

/// The model the training toolchain ships (Calibration/duct-classifier.onnx, onnxruntime QDQ int8) on the
/// simulation frames it was built from: it loads through the calibration file and gets the folders' labels.
@Suite struct ShippedModelTests {
    @Test func shippedModelClassifiesTheSimulationFrames() throws {
        let root = PackagePaths.root
        let calibration = try ClassifierCalibration.load(file: root + "/Calibration/classifier.yaml")
        let classifier = try Classifier(modelPath: calibration.model)
        #expect(classifier.modelSHA256 == calibration.modelSHA256)
        #expect(classifier.labels == calibration.labels)
        for label in ["clean", "dirty"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: root + "/Calibration/simulation/frames/\(label)/000.jpg"))
            let result = try classifier.classify(jpeg: [UInt8](data))
            #expect(result.label == label, "\(label)/000.jpg scored \(result.scores)")
        }
    }
}
