import Daemon
import Foundation
import Logging
import Settings
import Vision

/// `remotaird capture`: one capture from the configured cameras, written as JPEG files, with one line of
/// quality flags per frame. For installing and aiming cameras, and for checking a camera the daemon reports
/// offline (stop the daemon first: a V4L2 node streams to one process at a time). Exit 1 when any camera failed.
public struct CaptureOptions: Sendable, Equatable {
    public var configuration: ConfigurationOptions
    /// Camera name from configuration, or `all`.
    public var camera: String
    /// Folder to write `<capture-id>-<camera>.jpg` into (created if missing).
    public var out: String

    public init(configuration: ConfigurationOptions = ConfigurationOptions(), camera: String = "all", out: String) {
        self.configuration = configuration
        self.camera = camera
        self.out = out
    }
}

public func capture(_ options: CaptureOptions, context: ToolContext) async -> ExitStatus {
    do throws(ToolFailure) {
        let configuration = try options.configuration.load()
        context.bootstrapLogging(Logger.Level(configuration.logLevel))
        let logger = Logger(label: "remotaird")
        let names = configuration.cameras.devices.map(\.name)
        guard !names.isEmpty else { throw ToolFailure("no cameras configured (cameras.devices in \(configuration.file))") }
        let wanted: [String]? = options.camera == "all" ? nil : [options.camera]
        if let wanted, !names.contains(wanted[0]) {
            throw ToolFailure("--camera: no camera named '\(options.camera)'; configured: \(names.joined(separator: ", ")), or all")
        }
        do {
            try FileManager.default.createDirectory(atPath: options.out, withIntermediateDirectories: true)
        } catch {
            throw ToolFailure("--out: cannot create \(options.out): \(error.localizedDescription)")
        }

        let board = try makeBoard(configuration)
        let daemon = Daemon(configuration: configuration, board: board)
        let cameras = daemon.makeCameraSet(logger: logger)
        let result = await cameras.coordinator.capture(cameras: wanted)
        await cameras.shutdown()

        var failed = false
        for capture in result.cameras {
            switch capture.outcome {
            case .success(let snapshot):
                let path = (options.out as NSString).appendingPathComponent("\(result.captureID)-\(capture.camera).jpg")
                guard FileManager.default.createFile(atPath: path, contents: Data(snapshot.jpeg)) else {
                    failed = true
                    context.output("\(capture.camera) error write_failed: cannot write \(path)")
                    continue
                }
                context.output("\(capture.camera) \(path) \(snapshot.width)x\(snapshot.height) \(snapshot.sourceFormat) \(snapshot.quality.summary)"
                               + " corrupt=\(snapshot.corruptFrames) ms=\(Int(snapshot.timings.totalMs.rounded()))")
            case .failure(let error):
                failed = true
                context.output("\(capture.camera) error \(error.kind.rawValue): \(error.detail)")
            }
        }
        return failed ? .failure : .success
    } catch {
        context.error(error.message)
        return error.status
    }
}
