import Foundation
import JPEG
import V4L2
import Vision

/// A fault the simulated camera applies to coming captures.
public enum SimulatedFault: Sendable, Equatable {
    /// The next frame has damaged entropy data (libjpeg warns "Corrupt JPEG data").
    case corruptFrame
    /// The next frame is cut in half (no EOI).
    case truncatedFrame
    /// The camera is unplugged for the next `captures` capture or open attempts.
    case deviceGone(captures: Int)
    /// Every frame takes this long to arrive from now on (`.zero` clears it).
    case slowFrames(Duration)
}

/// A camera that replays the JPEG files of a folder in name order, round robin, through the same
/// validation as a real camera, with fault injection for the demo and tests. An empty or missing
/// folder makes the camera `absent` with a message naming the folder, never a crash.
public actor SimulatedCamera: Camera {
    public nonisolated let name: String
    /// The folder replayed at start.
    public nonisolated let folder: String
    /// The folder replayed now (scenarios switch scenes).
    private var replayFolder: String
    private let validator: FrameValidator
    private var files: [String] = []
    private var next = 0
    private var open_ = false
    private var pendingFrameFaults: [SimulatedFault] = []
    private var goneFor = 0
    private var frameDelay: Duration = .zero

    public init(name: String, folder: String) throws(CameraError) {
        self.name = name
        self.folder = folder
        self.replayFolder = folder
        do {
            validator = try FrameValidator()
        } catch {
            throw CameraError(kind: .other, camera: name, detail: "\(error)")
        }
    }

    public var isOpen: Bool { open_ }

    public var isPresent: Bool { goneFor == 0 }

    public func inject(_ fault: SimulatedFault) {
        switch fault {
        case .corruptFrame, .truncatedFrame: pendingFrameFaults.append(fault)
        case .deviceGone(let captures):
            goneFor += max(0, captures)
            if captures > 0 { open_ = false }
        case .slowFrames(let delay): frameDelay = delay
        }
    }

    /// Replays another folder from the next open on (a scenario changing the scene in the duct).
    public func replay(folder: String) {
        replayFolder = folder
        open_ = false
        next = 0
    }

    /// The device node disappears until `replug()` (a USB cable pulled out).
    public func unplug() {
        goneFor = Int.max / 2
        open_ = false
    }

    public func replug() {
        goneFor = 0
    }

    public func open() async throws(CameraError) {
        if open_ { return }
        if goneFor > 0 {
            goneFor -= 1
            throw CameraError(kind: .absent, camera: name, detail: "simulated: device node missing (\(goneFor) more attempts)")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: replayFolder)) ?? []
        files = names.filter { $0.lowercased().hasSuffix(".jpg") || $0.lowercased().hasSuffix(".jpeg") }.sorted()
            .map { (replayFolder as NSString).appendingPathComponent($0) }
        guard !files.isEmpty else {
            throw CameraError(kind: .absent, camera: name, detail: "simulated: no JPEG frames in \(replayFolder)")
        }
        next = next % files.count
        open_ = true
    }

    public func capture(_ request: StillRequest) async throws(CameraError) -> Still {
        if goneFor > 0 {
            goneFor -= 1
            open_ = false
            throw CameraError(kind: .deviceGone, camera: name, detail: "simulated: device unplugged")
        }
        if !open_ { try await open() }
        let start = ContinuousClock.now
        var corrupt = 0
        var lastProblem = ""
        while true {
            if frameDelay > .zero {
                do {
                    try await Task.sleep(for: frameDelay)
                } catch {
                    throw CameraError(kind: .cancelled, camera: name, detail: "capture cancelled")
                }
            }
            if ContinuousClock.now - start > request.timeout {
                throw CameraError(kind: .timeout, camera: name, detail: "no valid frame within \(request.timeout)")
            }
            var bytes = try readNextFrame()
            if !pendingFrameFaults.isEmpty {
                bytes = Self.damage(bytes, with: pendingFrameFaults.removeFirst())
            }
            switch validator.validateJPEG(bytes) {
            case .success(let frame):
                return Still(frame: frame, corruptFrames: corrupt, droppedFrames: 0)
            case .failure(let problem):
                corrupt += 1
                lastProblem = problem.description
                if corrupt > request.maxCorruptFrames {
                    throw CameraError(kind: .corruptFrames, camera: name, detail: "\(corrupt) corrupt frames; last: \(lastProblem)")
                }
            }
        }
    }

    private func readNextFrame() throws(CameraError) -> [UInt8] {
        guard !files.isEmpty else { throw CameraError(kind: .absent, camera: name, detail: "simulated: no JPEG frames in \(replayFolder)") }
        let path = files[next % files.count]
        next = (next + 1) % files.count
        guard let data = FileManager.default.contents(atPath: path) else {
            // The file went away under us: rescan on the next open.
            open_ = false
            throw CameraError(kind: .io, camera: name, detail: "simulated: cannot read \(path)")
        }
        return [UInt8](data)
    }

    /// Damages a frame the way marginal USB links do.
    static func damage(_ bytes: [UInt8], with fault: SimulatedFault) -> [UInt8] {
        switch fault {
        case .truncatedFrame:
            return Array(bytes.prefix(bytes.count / 2))
        case .corruptFrame:
            var damaged = bytes
            let start = bytes.count / 3
            for index in start..<min(bytes.count - 2, start + 256) { damaged[index] = index % 2 == 0 ? 0xFF : 0xD5 }
            return damaged
        default:
            return bytes
        }
    }

    public func close() async {
        open_ = false
    }
}
