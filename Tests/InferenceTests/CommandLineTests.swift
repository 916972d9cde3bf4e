import Foundation
import Inference
import JPEG
import Testing
import TestSupport

/// `remotaird classify` and `remotaird infer` end to end: output format and exit statuses.
@Suite struct CommandLineTests {
    let executable = PackagePaths.executable("remotaird")

    @Test func classifyPrintsOneJSONLinePerImageAndExitsOneOnAFailure() async throws {
        let fixtures = try Fixtures.load()
        let directory = try TemporaryDirectory("remotair-classify")
        defer { directory.remove() }
        let jpeg = try JPEGEncoder().encode(ClassifierTests.image(width: 128, height: 96), quality: 90)
        let good = directory.file("good.jpg"), bad = directory.file("bad.jpg")
        try Data(jpeg).write(to: URL(fileURLWithPath: good))
        try Data("not a jpeg".utf8).write(to: URL(fileURLWithPath: bad))
        let model = fixtures.path("mobilenet_v2_qdq_pc", ".onnx")
        let (status, stdout, stderr) = try await ChildProcess.run(executable, ["classify", "--model", model, "--json", good, bad, good])
        #expect(status == 1)
        let lines = stdout.split(separator: "\n")
        #expect(lines.count == 2)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(object["file"] as? String == good)
        #expect(["clean", "dirty"].contains(object["label"] as? String ?? ""))
        let scores = try #require(object["scores"] as? [String: Double])
        #expect(Set(scores.keys) == ["clean", "dirty"] && abs(scores.values.reduce(0, +) - 1) < 1e-3)
        #expect(object["ms"] is Double)
        #expect(lines[0].hasPrefix("{\"file\": "))
        #expect(stderr.contains(bad))

        let (okStatus, text, _) = try await ChildProcess.run(executable, ["classify", "--model", model, good])
        #expect(okStatus == 0 && text.hasPrefix("\(good): "))
    }

    @Test func usageErrorsAndBrokenModelsExitTwo() async throws {
        let fixtures = try Fixtures.load()
        let directory = try TemporaryDirectory("remotair-classify")
        defer { directory.remove() }
        let broken = try directory.write("broken.onnx", "garbage")
        let model = fixtures.path("mobilenet_v2_qdq_pc", ".onnx")
        let missingImages = try await ChildProcess.run(executable, ["classify", "--model", model])
        #expect(missingImages.0 == 2)
        let unknownOption = try await ChildProcess.run(executable, ["classify", "--model", model, "--frobnicate", "x.jpg"])
        #expect(unknownOption.0 == 2 && unknownOption.2.contains("--frobnicate"))
        let brokenModel = try await ChildProcess.run(executable, ["classify", "--model", broken, "x.jpg"])
        #expect(brokenModel.0 == 2 && brokenModel.2.contains("broken.onnx"))
        let inferWithoutNpy = try await ChildProcess.run(executable, ["infer", "--model", model])
        #expect(inferWithoutNpy.0 == 2)
    }

    @Test func inferPrintsTheExactOutputOfOnnxruntimeInputs() async throws {
        let fixtures = try Fixtures.load()
        let name = "mobilenet_v2_float"
        let (status, stdout, _) = try await ChildProcess.run(executable, [
            "infer", "--model", fixtures.path(name, ".onnx"), "--npy", fixtures.path(name, ".input.npy"), "--json",
        ])
        #expect(status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
        #expect(object["shape"] as? [Int] == [1, 2])
        let output = try #require(object["output"] as? [Double])
        let expected = try fixtures.array(name, ".expected.npy").values
        #expect(zip(output, expected).allSatisfy { abs($0 - Double($1)) < 1e-4 })
        #expect(stdout.hasPrefix("{\"shape\": [1, 2], \"output\": ["))

        let wrongShape = try await ChildProcess.run(executable, [
            "infer", "--model", fixtures.path(name, ".onnx"), "--npy", fixtures.path("op_relu_float", ".input.npy"),
        ])
        #expect(wrongShape.0 == 1 && wrongShape.2.contains("shape"))
    }
}
