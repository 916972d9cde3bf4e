import FieldTools
import Foundation
import Testing
import TestSupport

/// `classify` and `infer` in-process, with the demo model and the simulated board's frames.
@Suite("classify and infer in-process")
struct InferenceToolTests {
    /// The demo model; no --config, so settings come from /etc/remotair/remotaird.yaml only where it exists.
    static let model = ModelLocation(model: "\(PackagePaths.root)/Calibration/duct-classifier.onnx")
    static func frame(_ scene: String) -> String { "\(PackagePaths.root)/Calibration/simulation/frames/\(scene)/000.jpg" }

    @Test func classifiesTheDemoFramesAsTheirScenes() throws {
        let recording = RecordingContext()
        let status = classify(ClassifyOptions(model: Self.model, images: [Self.frame("clean"), Self.frame("dirty")]), context: recording.context)
        #expect(status == .success, "\(recording.errors)")
        #expect(recording.output.count == 2)
        // 'FILE: LABEL (clean p, dirty p) N ms', probabilities with four decimals.
        #expect(recording.output[0].hasPrefix("\(Self.frame("clean")): clean (clean 0."))
        #expect(recording.output[1].hasPrefix("\(Self.frame("dirty")): dirty (clean 0."))
        #expect(recording.output.allSatisfy { $0.range(of: #"\(clean [01]\.\d{4}, dirty [01]\.\d{4}\) \d+\.\d ms$"#, options: .regularExpression) != nil },
                "\(recording.output)")
    }

    @Test func jsonLinesAndExitOneWhenOneImageFails() throws {
        let directory = try TemporaryDirectory("remotair-classify")
        defer { directory.remove() }
        let bad = try directory.write("bad \"quoted\".jpg", "not a jpeg")
        let recording = RecordingContext()
        let status = classify(ClassifyOptions(model: Self.model, json: true, images: [bad, Self.frame("dirty")]), context: recording.context)
        #expect(status == .failure)
        try #require(recording.output.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(recording.output[0].utf8)) as? [String: Any])
        #expect(object["file"] as? String == Self.frame("dirty") && object["label"] as? String == "dirty")
        #expect(recording.output[0].hasPrefix("{\"file\": ") && recording.output[0].contains("\"scores\": {\"clean\": "))
        #expect(recording.errors.count == 1 && recording.errors[0].hasPrefix("remotaird: classify: \(bad): "))
    }

    @Test func usageErrorsAndUnloadableModelsAreStatusTwo() throws {
        let directory = try TemporaryDirectory("remotair-classify")
        defer { directory.remove() }
        let broken = try directory.write("broken.onnx", "garbage")
        let cases: [(ClassifyOptions, String)] = [
            (ClassifyOptions(model: Self.model, images: []), "remotaird: classify: no images given"),
            (ClassifyOptions(model: ModelLocation(model: broken), images: [Self.frame("clean")]), "remotaird: classify: model \(broken): "),
            (ClassifyOptions(model: ModelLocation(model: ""), images: [Self.frame("clean")]), "remotaird: classify: --model needs a value"),
            (ClassifyOptions(model: ModelLocation(config: directory.file("missing.yaml")), images: [Self.frame("clean")]), "remotaird: classify: "),
        ]
        for (options, message) in cases {
            let recording = RecordingContext()
            #expect(classify(options, context: recording.context) == .usage)
            #expect(recording.stderr.hasPrefix(message), "\(recording.errors)")
            #expect(recording.output.isEmpty)
        }
    }

    @Test func theModelComesFromClassifierYamlOfTheConfiguredCalibrationFolder() throws {
        let directory = try TemporaryDirectory("remotair-classify")
        defer { directory.remove() }
        let config = try directory.write("remotaird.yaml", "device_id: t\ncalibration_dir: \(PackagePaths.root)/Calibration\n")
        let recording = RecordingContext()
        #expect(classify(ClassifyOptions(model: ModelLocation(config: config), images: [Self.frame("dirty")]), context: recording.context) == .success)
        #expect(recording.output.first?.contains(": dirty (") == true)

        let empty = try directory.write("empty.yaml", "device_id: t\ncalibration_dir: \(directory.path)\n")
        let missing = RecordingContext()
        #expect(classify(ClassifyOptions(model: ModelLocation(config: empty), images: [Self.frame("dirty")]), context: missing.context) == .usage)
        #expect(missing.stderr == "remotaird: classify: no model: pass --model PATH, set inference.model, or provide \(directory.file("classifier.yaml"))")
    }

    @Test func memoryReportOnRequest() throws {
        let recording = RecordingContext(environment: ["REMOTAIRD_MEMORY_REPORT": "1"])
        #expect(classify(ClassifyOptions(model: Self.model, images: [Self.frame("clean")]), context: recording.context) == .success)
        let report = try #require(recording.errors.last)
        #expect(report.hasPrefix("remotaird: memory: VmHWM=") && report.contains(" VmRSS=") && report.hasSuffix(" (kB)"))
    }

    @Test func inferUsageErrors() throws {
        for (options, message) in [
            (InferOptions(model: Self.model, npy: nil), "remotaird: infer: --npy INPUT.npy is required"),
            (InferOptions(model: Self.model, npy: ""), "remotaird: infer: --npy needs a value"),
            (InferOptions(model: Self.model, npy: "x.npy", repeatCount: 0), "remotaird: infer: --repeat needs a count from 1 to 100000"),
        ] {
            let recording = RecordingContext()
            #expect(infer(options, context: recording.context) == .usage)
            #expect(recording.stderr == message)
        }
        let unreadable = RecordingContext()
        #expect(infer(InferOptions(model: Self.model, npy: "/nonexistent.npy"), context: unreadable.context) == .failure)
        #expect(unreadable.stderr.hasPrefix("remotaird: infer: /nonexistent.npy: "))
    }
}
