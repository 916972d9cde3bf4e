import Foundation
import Inference
import JPEG
import Testing
import TestSupport

/// Our runtime against onnxruntime on the same models and inputs (fixtures from make-fixtures.py).
@Suite struct ParityTests {
    @Test func singleOperatorsMatchOnnxruntime() throws {
        let fixtures = try Fixtures.load()
        let cases = fixtures.cases.filter { $0.kind == "op" }
        #expect(cases.count >= 40)
        for item in cases {
            let plan = try ExecutionPlan(model: fixtures.model(item.name))
            let input = try fixtures.array(item.name, ".input.npy")
            let expected = try fixtures.array(item.name, ".expected.npy")
            let output = try plan.run(input: input.values)
            #expect(plan.outputShape.reduce(1, *) == expected.values.count, "\(item.name): shape \(plan.outputShape) vs \(expected.shape)")
            // Quantized: within one quantization step of the output; float: float rounding only.
            let tolerance = item.step.map { $0 * 1.0001 + 1e-6 } ?? 1e-4
            var worst = 0.0
            for (ours, theirs) in zip(output, expected.values) {
                let difference = abs(Double(ours) - Double(theirs))
                worst = max(worst, item.step == nil ? difference / max(1, abs(Double(theirs))) : difference)
            }
            print("parity op \(item.name): max difference \(worst) (tolerance \(tolerance))")
            #expect(worst <= tolerance, "\(item.name): max difference \(worst) over \(tolerance)")
        }
    }

    /// What the network tests enforce, on the graph's output (the logits before any softmax, or the
    /// probabilities of a graph that ends in Softmax): int8 models within this many quantization steps of
    /// the output; float models within this much of onnxruntime's value, relative to its size (at least 1).
    static let networkSteps = 2.0
    static let floatTolerance = 1e-4

    /// Every network, float and quantized, on each of its inputs (random, image-like, out of distribution).
    @Test func networksMatchOnnxruntime() throws {
        let fixtures = try Fixtures.load()
        let cases = fixtures.cases.filter { $0.kind == "network" }
        #expect(cases.count >= 15)
        var worstSteps = 0.0, worstFloat = 0.0, compared = 0
        for item in cases {
            let plan = try ExecutionPlan(model: fixtures.model(item.name))
            let runs = try fixtures.inputsAndOutputs(item)
            #expect(Set(runs.map(\.kind)).isSuperset(of: ["random", "random_2", "image", "wide", "checkerboard"]), "\(item.name)")
            for run in runs {
                let output = try plan.run(input: run.input)
                try #require(output.count == run.expected.count, "\(item.name) \(run.kind)")
                let (within, worst) = Self.compare(output, run.expected, step: item.step)
                if item.step == nil { worstFloat = max(worstFloat, worst) } else { worstSteps = max(worstSteps, worst) }
                compared += 1
                #expect(within, "\(item.name) on \(run.kind): ours \(output) vs onnxruntime \(run.expected), worst \(worst)\(item.step == nil ? "" : " steps")")
                // A saturated output hides disagreement: the fixtures' in-distribution outputs must not be.
                if ["random", "random_2", "image"].contains(run.kind) {
                    let probabilities = item.probabilities ? run.expected.map(Double.init) : Self.softmax(run.expected)
                    #expect((probabilities.max() ?? 1) < 0.99, "\(item.name) on \(run.kind): onnxruntime's output \(probabilities) is saturated")
                }
            }
        }
        print("parity networks (onnxruntime \(fixtures.onnxruntime)): \(compared) outputs, int8 worst \(worstSteps) steps (allowed \(Self.networkSteps)), float worst \(worstFloat) (allowed \(Self.floatTolerance))")
    }

    /// Real camera frames through the classifier's JPEG path (DCT-scaled decode to planes, area resample,
    /// normalise), then our plan and onnxruntime on that same tensor. onnxruntime runs here, through
    /// `make-fixtures.py --expected` in the Python that INFERENCE_PYTHON names (scripts/test.d/30-inference-parity
    /// sets it; without it this test is skipped and that suite counts it as missing).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["INFERENCE_PYTHON"] != nil))
    func cameraFramesThroughTheJPEGPathMatchOnnxruntime() throws {
        let fixtures = try Fixtures.load()
        let python = try #require(ProcessInfo.processInfo.environment["INFERENCE_PYTHON"])
        let framesRoot = (PackagePaths.root as NSString).appendingPathComponent("Calibration/simulation/frames")
        let frames = try FileManager.default.subpathsOfDirectory(atPath: framesRoot).filter { $0.hasSuffix(".jpg") }.sorted()
        #expect(frames.count >= 20)
        let jpegs = try frames.map { try [UInt8](Data(contentsOf: URL(fileURLWithPath: (framesRoot as NSString).appendingPathComponent($0)))) }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("parity-frames-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }

        let cases = fixtures.cases.filter { $0.kind == "network" }
        var ours: [String: [[Float]]] = [:]
        let decoder = try JPEGDecoder()
        for item in cases {
            let classifier = try Classifier(modelPath: fixtures.path(item.name, ".onnx"))
            let preprocessor = classifier.preprocessor
            var tensors: [Float] = [], outputs: [[Float]] = []
            for (frame, jpeg) in zip(frames, jpegs) {
                // The decode classify(jpeg:) makes: the DCT scale for this input size, then Y/Cb/Cr planes
                // (RGB for a JPEG that has none).
                var planes = YCbCrImage(), rgb = RGBImage(width: 0, height: 0, pixels: [])
                var resampler = InputResampler()
                var tensor = [Float](repeating: 0, count: classifier.inputShape.reduce(1, *))
                let toPlanes = try jpeg.withUnsafeBytes { buffer in
                    let header = try decoder.header(buffer)
                    let region = preprocessor.sourceRegion(imageWidth: header.width, imageHeight: header.height, regionOfInterest: nil)
                    let scale = decoder.modelInputScale(header: header, region: region, width: preprocessor.width, height: preprocessor.height)
                    if header.decodesToPlanes {
                        try decoder.decodePlanes(buffer, scale: scale, header: header, into: &planes)
                    } else {
                        try decoder.decode(buffer, scale: scale, header: header, into: &rgb)
                    }
                    return header.decodesToPlanes
                }
                try tensor.withUnsafeMutableBufferPointer { buffer in
                    if toPlanes {
                        try preprocessor.tensor(from: planes, into: buffer, resampler: &resampler)
                    } else {
                        try preprocessor.tensor(from: rgb, into: buffer, resampler: &resampler)
                    }
                }
                let output = try classifier.run(input: tensor).output
                // classify(jpeg:) itself scores this tensor (fused input quantization included). Within 4 float
                // steps, not exactly: a float graph's two runs were seen 1 to 4 steps apart (resnet_float, up to
                // 6e-8, in one whole run of scripts/test; equal when the suite ran alone). A different tensor
                // moves the scores by orders of magnitude more.
                let scores = try classifier.classify(jpeg: jpeg).scores
                let probabilities = classifier.appliesSoftmax ? Self.softmax(output) : output.map(Double.init)
                for (index, label) in classifier.labels.enumerated() {
                    let allowed = 4 * Double(Float.ulpOfOne) * max(1, abs(probabilities[index]))
                    #expect(abs((scores[label] ?? .nan) - probabilities[index]) <= allowed, "\(item.name) \(frame): classify vs run")
                }
                tensors += tensor
                outputs.append(output)
            }
            let shape = [frames.count] + classifier.inputShape
            try Data(numpyBytes(shape: shape, values: tensors)).write(to: work.appendingPathComponent("\(item.name).tensors.npy"))
            ours[item.name] = outputs
        }
        let names = cases.map(\.name)
        try JSONSerialization.data(withJSONObject: names).write(to: work.appendingPathComponent("cases.json"))
        let peer = Process()
        peer.executableURL = URL(fileURLWithPath: python)
        peer.arguments = [(PackagePaths.root as NSString).appendingPathComponent("scripts/testing/make-fixtures.py"),
                          "--expected", fixtures.directory, work.path]
        try peer.run()
        peer.waitUntilExit()
        try #require(peer.terminationStatus == 0, "make-fixtures.py --expected exited \(peer.terminationStatus)")

        var worstSteps = 0.0, worstFloat = 0.0
        for item in cases {
            let expected = try NumPyArray(bytes: [UInt8](Data(contentsOf: work.appendingPathComponent("\(item.name).onnxruntime.npy"))))
            let outputs = try #require(ours[item.name])
            try #require(expected.values.count == outputs.count * outputs[0].count, "\(item.name): onnxruntime gave \(expected.shape)")
            for (index, output) in outputs.enumerated() {
                let theirs = Array(expected.values[index * output.count..<(index + 1) * output.count])
                let (within, worst) = Self.compare(output, theirs, step: item.step)
                if item.step == nil { worstFloat = max(worstFloat, worst) } else { worstSteps = max(worstSteps, worst) }
                #expect(within, "\(item.name) on \(frames[index]): ours \(output) vs onnxruntime \(theirs), worst \(worst)")
            }
        }
        print("parity camera frames: \(frames.count) frames x \(cases.count) networks through the JPEG path, int8 worst \(worstSteps) steps (allowed \(Self.networkSteps)), float worst \(worstFloat) (allowed \(Self.floatTolerance))")
    }

    /// Whether `ours` is within the stated tolerance of `theirs`, and the worst difference: in output
    /// quantization steps for int8 models (`step`), relative to max(1, |theirs|) for float ones.
    static func compare(_ ours: [Float], _ theirs: [Float], step: Double?) -> (within: Bool, worst: Double) {
        var worst = 0.0
        for (a, b) in zip(ours, theirs) {
            let difference = abs(Double(a) - Double(b))
            worst = max(worst, step.map { difference / $0 } ?? difference / max(1, abs(Double(b))))
        }
        // 1e-4 of a step: the step itself is a float32 rounded into the manifest's double.
        return (worst <= (step == nil ? floatTolerance : networkSteps + 1e-4), worst)
    }

    static func softmax(_ values: [Float]) -> [Double] {
        let largest = Double(values.max() ?? 0)
        let e = values.map { exp(Double($0) - largest) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }
}

/// The dot-product kernels (AVX-512 VNNI where the CPU has it) against the portable kernels:
/// bit-identical outputs on every quantized fixture.
@Suite(.serialized) struct KernelPathTests {
    @Test func fastAndPortableKernelsAgreeExactly() throws {
        let fixtures = try Fixtures.load()
        print("int8 kernels: \(CInferenceKernelsInfo.name) (fast path available: \(CInferenceKernelsInfo.fastAvailable))")
        for item in fixtures.cases where !item.name.hasSuffix("_float") {
            let model = try fixtures.model(item.name)
            let input = try fixtures.array(item.name, ".input.npy").values
            let fast = try ExecutionPlan(model: model).run(input: input)
            let portable = try CInferenceKernelsInfo.withPortableKernels { try ExecutionPlan(model: model).run(input: input) }
            #expect(fast == portable, "\(item.name)")
        }
    }

    /// The float convolution kernels of this CPU (AVX-512F or AVX2+FMA) against the portable ones on every
    /// float fixture: fused multiply-adds round differently, so within float rounding, not bit for bit.
    @Test func fastAndPortableFloatKernelsAgree() throws {
        let fixtures = try Fixtures.load()
        print("float kernels: \(CInferenceKernelsInfo.floatName)")
        for item in fixtures.cases where item.name.hasSuffix("_float") {
            let model = try fixtures.model(item.name)
            let input = try fixtures.array(item.name, ".input.npy").values
            let fast = try ExecutionPlan(model: model).run(input: input)
            let portable = try #require(try CInferenceKernelsInfo.withFloatKernels("portable") { try ExecutionPlan(model: model).run(input: input) })
            try #require(fast.count == portable.count)
            let worst = zip(fast, portable).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
            #expect(worst <= 1e-4, "\(item.name): fast and portable float kernels differ by \(worst)")
        }
    }

    /// `inference.threads`: the convolutions split across threads give exactly the one-thread result.
    @Test func threadedRunsMatchOneThread() throws {
        let fixtures = try Fixtures.load()
        for item in fixtures.cases {
            let model = try fixtures.model(item.name)
            let input = try fixtures.array(item.name, ".input.npy").values
            let threaded = try ExecutionPlan(model: model, threads: 3)
            #expect(threaded.threads == 3)
            #expect(try threaded.run(input: input) == ExecutionPlan(model: model).run(input: input), "\(item.name)")
        }
    }
}
