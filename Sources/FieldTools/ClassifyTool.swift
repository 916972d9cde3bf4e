import Foundation
import Inference

/// `remotaird classify [--model PATH] [--config FILE] [--json] IMAGE...`: one line per image.
/// Exit 0 when every image was classified, 1 when any failed (each failure named on stderr, the others
/// still classified), 2 for usage errors or a model that does not load.
public struct ClassifyOptions: Sendable, Equatable {
    public var model: ModelLocation
    public var json: Bool
    public var images: [String]

    public init(model: ModelLocation = ModelLocation(), json: Bool = false, images: [String]) {
        self.model = model
        self.json = json
        self.images = images
    }
}

public func classify(_ options: ClassifyOptions, context: ToolContext) -> ExitStatus {
    let classifier: Classifier
    do throws(ToolFailure) {
        guard !options.images.isEmpty else { throw ToolFailure("no images given", status: .usage) }
        classifier = try options.model.classifier(context: context)
    } catch {
        context.error("classify: \(error.message)")
        return error.status
    }
    var failed = false
    for file in options.images {
        do {
            guard let data = FileManager.default.contents(atPath: file) else { throw InferenceError.image("cannot read the file") }
            let result = try classifier.classify(jpeg: [UInt8](data))
            if options.json {
                let scores = classifier.labels.map { "\(JSONText.string($0)): \(JSONText.number(result.scores[$0] ?? 0, decimals: 6))" }
                context.output("{\"file\": \(JSONText.string(file)), \"label\": \(JSONText.string(result.label)), \"scores\": {\(scores.joined(separator: ", "))}, \"ms\": \(JSONText.number(result.milliseconds, decimals: 2))}")
            } else {
                let scores = classifier.labels.map { "\($0) \(JSONText.fixed(result.scores[$0] ?? 0, decimals: 4))" }
                context.output("\(file): \(result.label) (\(scores.joined(separator: ", "))) \(JSONText.fixed(result.milliseconds, decimals: 1)) ms")
            }
        } catch {
            context.error("classify: \(file): \(error)")
            failed = true
        }
    }
    if context.environment["REMOTAIRD_MEMORY_REPORT"] != nil, let report = MemoryReport.current() { context.error(report) }
    return failed ? .failure : .success
}
