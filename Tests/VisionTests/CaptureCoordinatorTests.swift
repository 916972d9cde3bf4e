import Foundation
import Settings
import Simulation
import Testing
import TestSupport
import V4L2
import V4L2Testing
@testable import Vision

/// A camera that records when its captures start and end.
actor RecordingCamera: Camera {
    nonisolated let name: String
    let log: Recorder<String>
    let delay: Duration
    let frame: ValidFrame

    init(name: String, log: Recorder<String>, delay: Duration) throws {
        self.name = name
        self.log = log
        self.delay = delay
        guard case .success(let frame) = try FrameValidator().validateJPEG(CameraFixtures.mjpegFrame) else {
            throw CameraError(kind: .other, camera: name, detail: "fixture")
        }
        self.frame = frame
    }

    var isOpen: Bool { true }
    var isPresent: Bool { true }
    func open() async throws(CameraError) {}
    func close() async {}
    func capture(_ request: StillRequest) async throws(CameraError) -> Still {
        log.append("start \(name)")
        try? await Task.sleep(for: delay)
        log.append("end \(name)")
        return Still(frame: frame, corruptFrames: 0, droppedFrames: 0)
    }
}

@Suite("Capture coordinator")
struct CaptureCoordinatorTests {
    static func settings(_ name: String) -> CameraSettings {
        var settings = CameraSettings(name: name, device: "sim")
        settings.timeout = .seconds(2)
        return settings
    }

    @Test func oneFailingCameraNeverBlocksTheOther() async throws {
        let stalled = FakeVideoDevice { _, _ in CameraFixtures.mjpegFrame }
        stalled.setStalled(true)
        let good = FakeVideoDevice { _, _ in CameraFixtures.mjpegFrame }
        var upstream = V4L2CameraTests.settings()
        upstream.name = "upstream"
        upstream.timeout = .milliseconds(200)
        var downstream = upstream
        downstream.name = "downstream"
        downstream.timeout = .seconds(5)
        let supervisors = [
            CameraSupervisor(camera: try V4L2Camera(settings: upstream, device: { _ in stalled }), settings: upstream),
            CameraSupervisor(camera: try V4L2Camera(settings: downstream, device: { _ in good }), settings: downstream),
        ]
        let coordinator = CaptureCoordinator(supervisors: supervisors, makeCaptureID: { "capture-1" })
        let result = await coordinator.capture()
        #expect(result.captureID == "capture-1")
        #expect(result.cameras.map(\.camera) == ["upstream", "downstream"])
        #expect(result["upstream"]?.outcome.error?.kind == .timeout)
        let snapshot = try #require(try result["downstream"]?.outcome.get())
        #expect(snapshot.jpeg == CameraFixtures.mjpegFrame)
        let statuses = await coordinator.statuses()
        #expect(statuses.map(\.state) == [.offline, .ok])
    }

    @Test func concurrentRequestsJoinAndOthersWait() async throws {
        let log = Recorder<String>()
        let names = ["upstream", "downstream"]
        let supervisors = try names.map { name in
            CameraSupervisor(camera: try RecordingCamera(name: name, log: log, delay: .milliseconds(300)), settings: Self.settings(name))
        }
        let counter = Recorder<Int>()
        let coordinator = CaptureCoordinator(supervisors: supervisors, makeCaptureID: {
            counter.append(1)
            return "capture-\(counter.all.count)"
        })
        async let first = coordinator.capture()
        // Both cameras of the first capture are running before the other requests arrive.
        try await waitUntil { log.all.count >= 2 }
        async let joined = coordinator.capture(cameras: ["downstream"])
        async let waiting = coordinator.capture(cameras: ["upstream", "nonexistent"])
        let (a, b, c) = await (first, joined, waiting)
        #expect(a.captureID == "capture-1")
        #expect(b.captureID == "capture-1" && b.cameras.map(\.camera) == ["downstream"])
        #expect(c.captureID == "capture-2")
        #expect(c["nonexistent"]?.outcome.error?.kind == .unknownCamera)
        // Never interleaved: the second capture starts after both cameras of the first ended.
        let entries = log.all
        #expect(entries.count == 6)
        #expect(Set(entries.prefix(4)) == ["start upstream", "end upstream", "start downstream", "end downstream"])
        #expect(Array(entries.suffix(2)) == ["start upstream", "end upstream"])
    }

    @Test func captureIDsAreTimestamps() {
        let id = CaptureCoordinator.timestampID()
        #expect(id.count == "20261127T230512.345Z-7f3a".count)
        #expect(id.contains("T") && id.contains("Z-"))
    }
}

@Suite("Simulated camera")
struct SimulatedCameraTests {
    static func folder(frames: Int) throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory("remotair-sim-frames")
        for index in 0..<frames {
            let jpeg = try Scenes.jpeg(Scenes.textured(width: 64, height: 48, seed: UInt64(index + 1)))
            FileManager.default.createFile(atPath: directory.file(String(format: "%03d.jpg", index)), contents: Data(jpeg))
        }
        FileManager.default.createFile(atPath: directory.file("notes.txt"), contents: Data("not a frame".utf8))
        return directory
    }

    static let request = StillRequest(warmupFrames: 0, timeout: .seconds(5), maxCorruptFrames: 2, jpegQuality: 80)

    @Test func replaysRoundRobin() async throws {
        let directory = try Self.folder(frames: 3)
        defer { directory.remove() }
        let camera = try SimulatedCamera(name: "upstream", folder: directory.path)
        var seen: [[UInt8]] = []
        for _ in 0..<4 { seen.append(try await camera.capture(Self.request).frame.jpeg) }
        let first = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory.file("000.jpg"))))
        let second = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory.file("001.jpg"))))
        #expect(seen[0] == first && seen[1] == second && seen[3] == first)
    }

    @Test func emptyFolderIsAbsentWithAClearMessage() async throws {
        let directory = try TemporaryDirectory("remotair-sim-empty")
        defer { directory.remove() }
        let camera = try SimulatedCamera(name: "downstream", folder: directory.path + "/clean")
        let error = await #expect(throws: CameraError.self) { try await camera.capture(Self.request) }
        #expect(error?.kind == .absent && error?.detail.contains("no JPEG frames in") == true)
    }

    @Test func injectedFaults() async throws {
        let directory = try Self.folder(frames: 2)
        defer { directory.remove() }
        let camera = try SimulatedCamera(name: "upstream", folder: directory.path)
        await camera.inject(.corruptFrame)
        #expect(try await camera.capture(Self.request).corruptFrames == 1)
        await camera.inject(.truncatedFrame)
        #expect(try await camera.capture(Self.request).corruptFrames == 1)
        await camera.inject(.deviceGone(captures: 2))
        #expect((await #expect(throws: CameraError.self) { try await camera.capture(Self.request) })?.kind == .deviceGone)
        #expect((await #expect(throws: CameraError.self) { try await camera.open() })?.kind == .absent)
        #expect(try await camera.capture(Self.request).corruptFrames == 0)
        await camera.inject(.slowFrames(.milliseconds(300)))
        let quick = StillRequest(warmupFrames: 0, timeout: .milliseconds(100), maxCorruptFrames: 2, jpegQuality: 80)
        #expect((await #expect(throws: CameraError.self) { try await camera.capture(quick) })?.kind == .timeout)
    }
}
