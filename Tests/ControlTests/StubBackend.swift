import Control
import ControlProtocol
import Synchronization

/// Fixed answers for every command: the seam between the control layer and the daemon, not hardware.
/// `captureDelay` and the concurrency counter let tests see whether captures overlap. `outboxRefusing`
/// answers as a daemon whose outbox is below its free-space floor, with the upload fields of this protocol
/// version; without it the answers are those of a daemon before them (no per-camera or per-alarm upload state).
final class StubBackend: ControlBackend {
    let captureDelay: Duration
    let outboxRefusing: Bool
    private let counters = Mutex((running: 0, maxRunning: 0, captures: 0))

    init(captureDelay: Duration = .zero, outboxRefusing: Bool = false) {
        self.captureDelay = captureDelay
        self.outboxRefusing = outboxRefusing
    }

    /// The most captures that ever ran at the same time.
    var maxConcurrentCaptures: Int { counters.withLock { $0.maxRunning } }
    var captureCount: Int { counters.withLock { $0.captures } }

    func status() async throws(ControlError) -> StatusResult {
        StatusResult(
            deviceID: "remotair-0001", versions: ["remotaird": "0.1.0", "model": "duct-v3"], uptimeSeconds: 93_784,
            state: "degraded",
            subsystems: [
                .init(name: "cameras", state: "ok", sinceSeconds: 3_600, detail: ["captures": "96", "errors": "0"]),
                .init(name: "classifier", state: "ok", sinceSeconds: 93_700, detail: ["inferences": "192"]),
                .init(name: "outbox", state: "retrying", sinceSeconds: 12, detail: ["pending": "3"]),
                .init(name: "risk", state: "ok", sinceSeconds: 93_700, detail: [:]),
                .init(name: "sensors", state: "ok", sinceSeconds: 93_690, detail: ["reads": "18750", "crc_errors": "2"]),
                .init(name: "uplink", state: "offline", sinceSeconds: 45, detail: ["last_status": "503"]),
            ])
    }

    func sensors() async throws(ControlError) -> SensorsResult {
        SensorsResult(readings: [
            .init(name: "co2", sensor: "scd41", value: 612, unit: "ppm", ageSeconds: 3.2, state: "ok"),
            .init(name: "temperature", sensor: "scd41", value: 21.43, unit: "°C", ageSeconds: 3.2, state: "ok"),
            .init(name: "humidity", sensor: "scd41", value: 48.5, unit: "%RH", ageSeconds: 3.2, state: "ok"),
            .init(name: "pm2_5", sensor: "sps30", value: 7.9, unit: "µg/m³", ageSeconds: 74, state: "stale"),
            .init(name: "voc_index", sensor: "sgp41", value: nil, unit: "", ageSeconds: nil, state: "warming_up"),
        ])
    }

    func capture(camera: String?, upload: Bool, note: String?) async throws(ControlError) -> CaptureResult {
        counters.withLock {
            $0.running += 1
            $0.captures += 1
            $0.maxRunning = max($0.maxRunning, $0.running)
        }
        defer { counters.withLock { $0.running -= 1 } }
        if captureDelay > .zero { try? await Task.sleep(for: captureDelay) }
        if camera == "attic" {
            throw ControlError(.badRequest, "no camera named 'attic'; cameras: upstream, downstream")
        }
        let upstream = CaptureResult.Camera(
            name: "upstream", label: "clean", scores: ["clean": 0.94, "dirty": 0.06], quality: [],
            snapshotID: "snap-20261127-0042", timings: ["capture": 180, "decode": 9, "inference": 2])
        let downstream = CaptureResult.Camera(
            name: "downstream", label: nil, timings: ["capture": 2000],
            error: ControlError(.cameraOffline, "/dev/video2 delivered no frame within 2 s"))
        if outboxRefusing {
            var refused = upstream
            refused.snapshotID = nil
            refused.snapshotQueued = false
            refused.snapshotError = ControlError(.belowFreeSpaceFloor, "outbox: belowFreeSpaceFloor: snapshot refused: 2893824 bytes free, floor 268435456")
            let queued = CaptureResult.Camera(
                name: "downstream", label: "clean", scores: ["clean": 0.91, "dirty": 0.09], snapshotID: "snap-20261127-0043",
                timings: ["capture": 175, "classify": 3], snapshotQueued: true)
            let cameras = camera.map { name in [refused, queued].filter { $0.name == name } } ?? [refused, queued]
            return CaptureResult(cameras: cameras, upload: false, note: note, totalMilliseconds: 412)
        }
        let cameras = camera.map { name in [upstream, downstream].filter { $0.name == name } } ?? [upstream, downstream]
        return CaptureResult(cameras: cameras, upload: upload, note: note, totalMilliseconds: camera == nil ? 2_214 : 191)
    }

    func alarms() async throws(ControlError) -> AlarmsResult {
        if outboxRefusing {
            return AlarmsResult(alarms: [
                .init(id: "a-0007", kind: "duct_dirty", severity: "critical", message: "upstream dirty in 3 of the last 4 captures",
                      ageSeconds: 5_400, uploaded: true,
                      upload: .init(state: "uploaded", itemID: "0190f3a2-7c4e-7d1a-9b2f-3e4d5c6b7a89", attempts: 0,
                                    uploadedAt: "2026-11-27T09:02:11Z", uploadedAgeSeconds: 5_350,
                                    objectKey: "remotair-0001/alarm/2026/11/27/0190f3a2-7c4e-7d1a-9b2f-3e4d5c6b7a89.json")),
                .init(id: "a-0008", kind: "camera_offline", severity: "warning", message: "downstream camera delivers no frames",
                      ageSeconds: 45, uploaded: false,
                      upload: .init(state: "queued", itemID: "0190f3b7-0000-7d1a-9b2f-3e4d5c6b7a89", attempts: 2,
                                    lastError: "uplink: HTTP 503 from s3.example.net")),
                .init(id: "a-0009", kind: "air_quality", severity: "warning", message: "pm2_5 above 50 µg/m³ for 2 min",
                      ageSeconds: 30, uploaded: false,
                      upload: .init(state: "not_queued", lastError: "below_free_space_floor: outbox: belowFreeSpaceFloor: alarm refused")),
            ])
        }
        return AlarmsResult(alarms: [
            .init(id: "a-0007", kind: "duct_dirty", severity: "critical", message: "upstream dirty in 3 of the last 4 captures",
                  ageSeconds: 5_400, uploaded: true),
            .init(id: "a-0008", kind: "camera_offline", severity: "warning", message: "downstream camera delivers no frames",
                  ageSeconds: 45, uploaded: false),
        ])
    }

    func outbox() async throws(ControlError) -> OutboxResult {
        OutboxResult(
            entries: [
                .init(kind: "alarm", state: "pending", count: 1, bytes: 612),
                .init(kind: "snapshot", state: "retrying", count: 2, bytes: 1_288_490),
            ],
            oldestAgeSeconds: 312, lastError: "uplink: HTTP 503 from s3.example.net", lastErrorAgeSeconds: 12)
    }

    func outboxFlush() async throws(ControlError) -> OutboxFlushResult { OutboxFlushResult(retrying: 3) }

    func reload() async throws(ControlError) -> ReloadResult { ReloadResult(reloaded: ["configuration", "calibration"]) }

    func calibrateCO2(ppm: Int) async throws(ControlError) -> CalibrationResult {
        CalibrationResult(sensor: "scd41", referencePPM: ppm, correctionPPM: -12)
    }

    func version() async throws(ControlError) -> VersionResult {
        VersionResult(daemon: "0.1.0", components: ["model": "duct-v3", "calibration": "2026-11-01"])
    }
}
