import ArgumentParser
import Daemon
import Foundation
import Journal
import Logging
import Settings
import Vision

/// `remotaird capture`: one capture from the configured cameras, written as JPEG files, with one
/// line of quality flags per frame. For installing and aiming cameras, and for checking a camera
/// the daemon reports offline (stop the daemon first: a V4L2 node streams to one process at a time).
struct Capture: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Capture one still from a camera (or all) and write the JPEG(s) with quality flags.")

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: "Camera name from configuration, or 'all'.")
    var camera: String = "all"

    @Option(name: .long, help: "Folder to write <capture-id>-<camera>.jpg into (created if missing).")
    var out: String

    func run() async throws {
        let configuration = try options.load()
        JournalLogHandler.bootstrap(level: Logger.Level(configuration.logLevel))
        let logger = Logger(label: "remotaird")
        let names = configuration.cameras.devices.map(\.name)
        guard !names.isEmpty else { throw failure("no cameras configured (cameras.devices in \(configuration.file))") }
        let wanted: [String]? = camera == "all" ? nil : [camera]
        if let wanted, !names.contains(wanted[0]) {
            throw failure("--camera: no camera named '\(camera)'; configured: \(names.joined(separator: ", ")), or all")
        }
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        } catch {
            throw failure("--out: cannot create \(out): \(error.localizedDescription)")
        }

        let board: Board = configuration.board == .simulated
            ? .simulated(configuration: configuration) : .hardware(configuration: configuration)
        let daemon = Daemon(configuration: configuration, board: board)
        let cameras = daemon.makeCameraSet(logger: logger)
        let result = await cameras.coordinator.capture(cameras: wanted)
        await cameras.shutdown()

        var failed = false
        for capture in result.cameras {
            switch capture.outcome {
            case .success(let snapshot):
                let path = (out as NSString).appendingPathComponent("\(result.captureID)-\(capture.camera).jpg")
                guard FileManager.default.createFile(atPath: path, contents: Data(snapshot.jpeg)) else {
                    failed = true
                    print("\(capture.camera) error write_failed: cannot write \(path)")
                    continue
                }
                print("\(capture.camera) \(path) \(snapshot.width)x\(snapshot.height) \(snapshot.sourceFormat) \(snapshot.quality.summary)"
                      + " corrupt=\(snapshot.corruptFrames) ms=\(Int(snapshot.timings.totalMs.rounded()))")
            case .failure(let error):
                failed = true
                print("\(capture.camera) error \(error.kind.rawValue): \(error.detail)")
            }
        }
        if failed { throw ExitCode(1) }
    }
}
