import Foundation
import Timestamps

/// The result of one capture request: one capture id for all cameras, an outcome per camera.
public struct CaptureResult: Sendable {
    /// Shared by the snapshots of both cameras (object keys, alarms, logs).
    public var captureID: String
    /// Per camera, in the order requested.
    public var cameras: [CameraCapture]

    public init(captureID: String, cameras: [CameraCapture]) {
        self.captureID = captureID
        self.cameras = cameras
    }

    public subscript(camera: String) -> CameraCapture? { cameras.first { $0.camera == camera } }

    /// The valid snapshots.
    public var snapshots: [Snapshot] {
        cameras.compactMap { if case .success(let snapshot) = $0.outcome { snapshot } else { nil } }
    }
}

/// One camera's part of a capture.
public struct CameraCapture: Sendable {
    public var camera: String
    public var outcome: Result<Snapshot, CameraError>
}

/// The capture API for the main job, the control socket and the push button: captures the named
/// cameras (all when nil) concurrently, each under its own timeout, so one failing camera never
/// blocks the other. Requests are serialised: a request for cameras already being captured joins
/// that capture and shares its result; any other request waits for it; captures never interleave.
public actor CaptureCoordinator {
    private let supervisors: [String: CameraSupervisor]
    /// Camera names in configuration order.
    public nonisolated let cameraNames: [String]
    private let makeCaptureID: @Sendable () -> String
    private var inFlight: (id: Int, cameras: Set<String>, task: Task<CaptureResult, Never>)?
    private var counter = 0

    public init(supervisors: [CameraSupervisor], makeCaptureID: (@Sendable () -> String)? = nil) {
        var table: [String: CameraSupervisor] = [:]
        for supervisor in supervisors { table[supervisor.name] = supervisor }
        self.supervisors = table
        cameraNames = supervisors.map(\.name)
        self.makeCaptureID = makeCaptureID ?? CaptureCoordinator.timestampID
    }

    /// Captures `cameras` (all configured cameras when nil or empty).
    public func capture(cameras requested: [String]? = nil) async -> CaptureResult {
        var wanted: [String] = []
        for name in requested ?? cameraNames where !wanted.contains(name) { wanted.append(name) }
        if wanted.isEmpty { wanted = cameraNames }

        while let current = inFlight {
            let result = await current.task.value
            if inFlight?.id == current.id { inFlight = nil }
            if Set(wanted).isSubset(of: current.cameras) {
                return CaptureResult(captureID: result.captureID, cameras: result.cameras.filter { wanted.contains($0.camera) })
            }
        }

        counter += 1
        let id = counter
        let captureID = makeCaptureID()
        let table = supervisors
        let names = wanted
        let task = Task {
            await Self.captureAll(names, supervisors: table, captureID: captureID)
        }
        inFlight = (id, Set(wanted), task)
        let result = await task.value
        if inFlight?.id == id { inFlight = nil }
        return result
    }

    private static func captureAll(_ names: [String], supervisors: [String: CameraSupervisor], captureID: String) async -> CaptureResult {
        let outcomes = await withTaskGroup(of: CameraCapture.self) { group in
            for name in names {
                group.addTask {
                    guard let supervisor = supervisors[name] else {
                        return CameraCapture(camera: name, outcome: .failure(CameraError(
                            kind: .unknownCamera, camera: name, detail: "no camera named '\(name)' (configured: \(supervisors.keys.sorted().joined(separator: ", ")))")))
                    }
                    return CameraCapture(camera: name, outcome: await supervisor.capture())
                }
            }
            var collected: [CameraCapture] = []
            for await outcome in group { collected.append(outcome) }
            return collected
        }
        let ordered = names.compactMap { name in outcomes.first { $0.camera == name } }
        return CaptureResult(captureID: captureID, cameras: ordered)
    }

    /// Every camera's state and counters, in configuration order.
    public func statuses() async -> [CameraStatus] {
        var result: [CameraStatus] = []
        for name in cameraNames {
            if let supervisor = supervisors[name] { result.append(await supervisor.status()) }
        }
        return result
    }

    /// `20261127T230512.345Z-7f3a`: sortable UTC time plus a random suffix, unique across restarts.
    @Sendable public static func timestampID() -> String {
        let suffix = String(UInt16.random(in: 0...UInt16.max), radix: 16)
        return UTCTime(Date()).basic(fractionDigits: 3) + "-" + String(repeating: "0", count: 4 - suffix.count) + suffix
    }
}
