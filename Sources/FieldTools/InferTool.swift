import Foundation
import Inference

/// `remotaird infer [--model PATH] [--config FILE] --npy INPUT.npy [--json] [--repeat N]`: the model on an
/// exact input tensor (NumPy float32, C order), printing the output. Same exit statuses as `classify`.
public struct InferOptions: Sendable, Equatable {
    public var model: ModelLocation
    public var npy: String?
    public var json: Bool
    /// Run N times and report the median latency on stderr (for scripts/bench/bench-classifier).
    public var repeatCount: Int

    public init(model: ModelLocation = ModelLocation(), npy: String?, json: Bool = false, repeatCount: Int = 1) {
        self.model = model
        self.npy = npy
        self.json = json
        self.repeatCount = repeatCount
    }
}

public func infer(_ options: InferOptions, context: ToolContext) -> ExitStatus {
    let classifier: Classifier
    let npy: String
    do throws(ToolFailure) {
        guard (1...100_000).contains(options.repeatCount) else { throw ToolFailure("--repeat needs a count from 1 to 100000", status: .usage) }
        guard let path = options.npy else { throw ToolFailure("--npy INPUT.npy is required", status: .usage) }
        guard !path.isEmpty else { throw ToolFailure("--npy needs a value", status: .usage) }
        npy = path
        classifier = try options.model.classifier(context: context)
    } catch {
        context.error("infer: \(error.message)")
        return error.status
    }
    do {
        guard let data = FileManager.default.contents(atPath: npy) else { throw InferenceError.npy("cannot read \(npy)") }
        let array = try NumPyArray(bytes: [UInt8](data))
        guard array.shape == classifier.inputShape else {
            throw InferenceError.inputMismatch("\(npy) has shape \(array.shape), the model takes \(classifier.inputShape)")
        }
        var (shape, output) = try classifier.run(input: array.values)
        if options.repeatCount > 1 {
            var times: [Double] = []
            for _ in 0..<options.repeatCount {
                let start = ContinuousClock.now
                (shape, output) = try classifier.run(input: array.values)
                let elapsed = ContinuousClock.now - start
                times.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
            }
            times.sort()
            if context.environment["REMOTAIR_PROFILE"] != nil {
                var byOperator: [String: Double] = [:]
                for (op, milliseconds) in try classifier.profile(input: array.values) { byOperator[op, default: 0] += milliseconds }
                for (op, milliseconds) in byOperator.sorted(by: { $0.value > $1.value }) {
                    context.error("profile: \(op) \(JSONText.fixed(milliseconds, decimals: 3)) ms")
                }
            }
            context.error("infer: \(times.count) runs, median \(JSONText.fixed(times[times.count / 2], decimals: 3)) ms, min \(JSONText.fixed(times[0], decimals: 3)) ms")
        }
        if options.json {
            context.output("{\"shape\": [\(shape.map(String.init).joined(separator: ", "))], \"output\": [\(output.map { $0.isFinite ? "\($0)" : "null" }.joined(separator: ", "))]}")
        } else {
            context.output("shape \(shape)")
            context.output(output.map { "\($0)" }.joined(separator: " "))
        }
    } catch {
        context.error("infer: \(npy): \(error)")
        return .failure
    }
    return .success
}
