import Geometry
import Digests
import Foundation
import JPEG
import ONNX
import Settings
import Synchronization
import Syscalls

/// The classifier's answer for one frame.
public struct Classification: Sendable, Equatable {
    /// The label with the highest score.
    public var label: String
    /// Probability per label (softmax of the outputs unless the model already ends in Softmax or Sigmoid).
    public var scores: [String: Double]
    /// Wall time of the whole path: decode, preprocess, inference.
    public var milliseconds: Double
}

/// An ONNX image classifier: loads and checks the model once, then classifies JPEG frames or RGB images.
///
/// Thread safety: `Classifier` is `Sendable`; calls are serialised by an internal mutex because one
/// execution plan (one arena) serves every call. The capture loop calls it from one task at a time, so
/// the lock is never contended there; a caller wanting parallel inference makes one `Classifier` each.
public final class Classifier: Sendable {
    /// Class names in output order.
    public let labels: [String]
    /// SHA-256 of the model file, lowercase hex.
    public let modelSHA256: String
    /// The model's `metadata_props`.
    public let metadata: [String: String]
    /// Labels, normalisation and resize mode in force (model metadata, configuration overrides, defaults).
    public let modelMetadata: ModelMetadata
    /// Input tensor shape, NCHW.
    public let inputShape: [Int]
    /// Output tensor shape.
    public let outputShape: [Int]
    /// Whether scores are the softmax of the outputs (false when the graph ends in Softmax or Sigmoid).
    public let appliesSoftmax: Bool
    public let preprocessor: Preprocessor

    private let engine: Mutex<Engine>

    /// Per-classifier mutable state: the plan (arena) and every per-frame buffer, reused across frames.
    private final class Engine {
        let plan: ExecutionPlan
        var output: [Float]
        var decoder: JPEGDecoder?
        /// The DCT-scaled decode of the last frame (YCbCr planes, or RGB for JPEGs without them);
        /// same-size frames reuse its storage.
        var planes = YCbCrImage()
        var decoded = RGBImage(width: 0, height: 0, pixels: [])
        var resampler = InputResampler()

        init(plan: ExecutionPlan) {
            self.plan = plan
            output = [Float](repeating: 0, count: plan.outputCount)
        }

        /// Runs the plan on its float input buffer.
        func run() throws(InferenceError) {
            try output.withUnsafeMutableBufferPointer { (target) throws(InferenceError) in try plan.run(output: target) }
        }

        /// Where the preprocessor writes a frame: the bytes the plan's input QuantizeLinear would make when
        /// the plan lets it (that step is then skipped), else the float input tensor.
        var destination: InputResampler.Destination {
            if let quantization = plan.inputQuantization, let bytes = plan.quantizedInputBuffer { return .quantized(bytes, quantization) }
            return .tensor(plan.inputBuffer)
        }

        /// Runs the plan on what the preprocessor wrote to `destination`.
        func runPreprocessed() throws(InferenceError) {
            guard plan.inputQuantization != nil else { return try run() }
            try output.withUnsafeMutableBufferPointer { (target) throws(InferenceError) in try plan.runQuantized(output: target) }
        }
    }

    /// Loads the model file. The file's bytes are released once parsed and hashed, before the execution
    /// plan is built, so they never add to the peak memory of loading.
    public convenience init(modelPath: String, settings: InferenceSettings = InferenceSettings()) throws(InferenceError) {
        let (model, sha256) = try Self.parse(Self.read(modelPath))
        try self.init(model: consume model, sha256: sha256, settings: settings)
    }

    public convenience init(modelBytes: Data, settings: InferenceSettings = InferenceSettings()) throws(InferenceError) {
        let (model, sha256) = try Self.parse(modelBytes)
        try self.init(model: consume model, sha256: sha256, settings: settings)
    }

    /// The whole file in one buffer of its size.
    static func read(_ path: String) throws(InferenceError) -> Data {
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .model(.unreadable(path: path, reason: (error as NSError).localizedDescription))
        }
    }

    /// The digest first, so the file's bytes can go as soon as they are decoded.
    private static func parse(_ bytes: consuming Data) throws(InferenceError) -> (ONNXModel, String) {
        let sha256 = Digest.sha256(bytes)
        let model: ONNXModel
        do { model = try ONNXModel(bytes: consume bytes) } catch { throw .model(error) }
        return (model, sha256)
    }

    private init(model: consuming ONNXModel, sha256: String, settings: InferenceSettings) throws(InferenceError) {
        let properties = model.metadata
        let plan = try ExecutionPlan(model: consume model, arenaLimit: settings.arenaLimitMB << 20, threads: settings.threads)
        guard plan.inputShape.count == 4, plan.inputShape[0] == 1, plan.inputShape[1] == 3 else {
            throw .invalidGraph("input shape \(plan.inputShape) is not 1x3xHxW (NCHW RGB)")
        }
        let classes = plan.outputCount
        guard classes >= 1 else { throw .invalidGraph("output shape \(plan.outputShape) is empty") }
        modelMetadata = try ModelMetadata(properties: properties, outputCount: classes, settings: settings)
        labels = modelMetadata.labels
        metadata = properties
        modelSHA256 = sha256
        inputShape = plan.inputShape
        outputShape = plan.outputShape
        appliesSoftmax = !["Softmax", "Sigmoid"].contains(plan.outputOperator)
        preprocessor = Preprocessor(width: plan.inputShape[3], height: plan.inputShape[2], mean: modelMetadata.mean,
                                    std: modelMetadata.std, resize: modelMetadata.resize)
        engine = Mutex(Engine(plan: plan))
        // Everything loading freed (file, message, unpacked tensors) goes back to the system here, once,
        // for the CLI and the daemon's start and reload alike.
        Heap.returnFreeMemory()
    }

    /// Decodes a JPEG at the fastest DCT scale that keeps the region at least the input size, then
    /// classifies it. Decode, resize and tensor buffers are reused from the previous frame.
    ///
    /// YCbCr and greyscale JPEGs are decoded to their planes (no chroma upsampling or colour conversion
    /// in libjpeg) and resized per plane, converting each output pixel to RGB: the same tensor as decoding
    /// to RGB and resizing, within the rounding described at `Preprocessor.tensor(from:YCbCrImage...)`.
    /// Other JPEGs (RGB-coded, unusual sampling) go through RGB.
    public func classify(jpeg: [UInt8], regionOfInterest: NormalizedRect? = nil) throws(InferenceError) -> Classification {
        let start = ContinuousClock.now
        return try engine.withLock { (engine) throws(InferenceError) -> Classification in
            let decoded: Result<Bool, JPEGError> = jpeg.withUnsafeBytes { buffer in
                do throws(JPEGError) {
                    if engine.decoder == nil { engine.decoder = try JPEGDecoder() }
                    guard let decoder = engine.decoder else { throw JPEGError(kind: .fatal("no decoder"), call: "tjInitDecompress") }
                    let header = try decoder.header(buffer)
                    let region = preprocessor.sourceRegion(imageWidth: header.width, imageHeight: header.height,
                                                           regionOfInterest: regionOfInterest)
                    let scale = decoder.modelInputScale(header: header, region: region,
                                                        width: preprocessor.width, height: preprocessor.height)
                    if header.decodesToPlanes {
                        try decoder.decodePlanes(buffer, scale: scale, header: header, into: &engine.planes)
                        return .success(true)
                    }
                    try decoder.decode(buffer, scale: scale, header: header, into: &engine.decoded)
                    return .success(false)
                } catch {
                    return .failure(error)
                }
            }
            switch decoded {
            case .failure(let error):
                throw .image("\(error)")
            case .success(true):
                try preprocessor.write(engine.planes, regionOfInterest: regionOfInterest, into: engine.destination, resampler: &engine.resampler)
            case .success(false):
                try preprocessor.write(engine.decoded, regionOfInterest: regionOfInterest, into: engine.destination, resampler: &engine.resampler)
            }
            return try finish(engine, start: start)
        }
    }

    /// Classifies an already decoded RGB image.
    public func classify(image: RGBImage, regionOfInterest: NormalizedRect? = nil) throws(InferenceError) -> Classification {
        let start = ContinuousClock.now
        return try engine.withLock { (engine) throws(InferenceError) -> Classification in
            try classify(engine, image: image, regionOfInterest: regionOfInterest, start: start)
        }
    }

    private func classify(_ engine: Engine, image: RGBImage, regionOfInterest: NormalizedRect?, start: ContinuousClock.Instant) throws(InferenceError) -> Classification {
        try preprocessor.write(image, regionOfInterest: regionOfInterest, into: engine.destination, resampler: &engine.resampler)
        return try finish(engine, start: start)
    }

    /// Runs the plan on what the preprocessor wrote and turns the output into scores.
    private func finish(_ engine: Engine, start: ContinuousClock.Instant) throws(InferenceError) -> Classification {
        try engine.runPreprocessed()
        let probabilities = appliesSoftmax ? Self.softmax(engine.output) : engine.output.map(Double.init)
        var scores: [String: Double] = [:]
        var best = 0
        for (index, label) in labels.enumerated() {
            scores[label] = probabilities[index]
            if probabilities[index] > probabilities[best] { best = index }
        }
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return Classification(label: labels[best], scores: scores, milliseconds: milliseconds)
    }

    /// Runs the model on an exact input tensor (`inputShape`, NCHW float32) and returns the raw output.
    public func run(input: [Float]) throws(InferenceError) -> (shape: [Int], output: [Float]) {
        try engine.withLock { (engine) throws(InferenceError) -> (shape: [Int], output: [Float]) in
            guard input.count == engine.plan.inputCount else {
                throw .inputMismatch("expected \(engine.plan.inputCount) values for shape \(inputShape), got \(input.count)")
            }
            _ = engine.plan.inputBuffer.update(from: input)
            try engine.run()
            return (outputShape, engine.output)
        }
    }

    /// Per-step wall times of one run on `input` (profiling; see ExecutionPlan.profile).
    public func profile(input: [Float]) throws(InferenceError) -> [(op: String, milliseconds: Double)] {
        try engine.withLock { (engine) throws(InferenceError) in try engine.plan.profile(input: input) }
    }

    static func softmax(_ values: [Float]) -> [Double] {
        let largest = values.map(Double.init).max() ?? 0
        let exponentials = values.map { Foundation.exp(Double($0) - largest) }
        let sum = exponentials.reduce(0, +)
        return exponentials.map { $0 / sum }
    }
}
