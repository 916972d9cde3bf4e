import Foundation
import JPEG
import Testing
import TestSupport

/// `remotaird capture` end to end on the simulated board: real executable, real files.
@Suite("remotaird capture")
struct CaptureCommandTests {
    static func setUp(scenes: [String: RGBImage?]) throws -> (TemporaryDirectory, String) {
        let directory = try TemporaryDirectory("remotair-capture")
        for (scene, image) in scenes {
            let folder = directory.file("frames/\(scene)")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            if let image {
                FileManager.default.createFile(atPath: folder + "/000.jpg", contents: Data(try Scenes.jpeg(image)))
            }
        }
        let config = try directory.write("remotaird.yaml", """
        device_id: capture-test
        board: simulated
        state_dir: \(directory.file("state"))
        calibration_dir: \(PackagePaths.root)/Calibration
        cameras:
          devices:
            - {name: upstream, device: sim, replay_scene: clean, illumination: 17}
            - {name: downstream, device: sim, replay_scene: dark, illumination: 18}
        gpio:
          chip: sim
          illumination_settle: 1ms
        simulation:
          frames_dir: \(directory.file("frames"))
        """)
        return (directory, config)
    }

    @Test func capturesBothCamerasWithQualityFlags() async throws {
        let (directory, config) = try Self.setUp(scenes: ["clean": Scenes.textured(), "dark": Scenes.dark(Scenes.textured())])
        defer { directory.remove() }
        let out = directory.file("out")
        let (status, stdout, stderr) = try await ChildProcess.run(
            PackagePaths.executable("remotaird"), ["capture", "--config", config, "--out", out, "--camera", "all"])
        #expect(status == 0, "\(stderr)")
        let lines = stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(lines.first?.hasPrefix("upstream ") == true && lines.first?.contains("flags=ok") == true)
        #expect(lines.last?.hasPrefix("downstream ") == true && lines.last?.contains("too_dark") == true)
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(files.count == 2 && files.allSatisfy { $0.hasSuffix(".jpg") })
        // One capture id for both files.
        #expect(Set(files.map { $0.components(separatedBy: "-").dropLast().joined(separator: "-") }).count == 1)
        let written = try Data(contentsOf: URL(fileURLWithPath: out + "/" + files[0]))
        #expect(try JPEGDecoder().header([UInt8](written)).width == 160)
    }

    @Test func emptySceneFolderFailsThatCameraOnly() async throws {
        let (directory, config) = try Self.setUp(scenes: ["clean": Scenes.textured(), "dark": nil])
        defer { directory.remove() }
        let out = directory.file("out")
        let (status, stdout, _) = try await ChildProcess.run(
            PackagePaths.executable("remotaird"), ["capture", "--config", config, "--out", out])
        #expect(status == 1)
        #expect(stdout.contains("upstream \(out)"))
        #expect(stdout.contains("downstream error absent: simulated: no JPEG frames in"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).count == 1)
    }

    @Test func unknownCameraIsNamed() async throws {
        let (directory, config) = try Self.setUp(scenes: ["clean": Scenes.textured()])
        defer { directory.remove() }
        let (status, _, stderr) = try await ChildProcess.run(
            PackagePaths.executable("remotaird"), ["capture", "--config", config, "--out", directory.file("out"), "--camera", "sideways"])
        #expect(status == 1)
        #expect(stderr.contains("no camera named 'sideways'"))
    }
}
