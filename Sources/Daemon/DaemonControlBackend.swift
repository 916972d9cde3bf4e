import Control
import Health
import Settings

/// The daemon's answers on the control socket. This placeholder answers `status` and `version` from
/// the health registry; the other commands report `not_available` until the sensor, camera, outbox
/// and uplink services are wired in (the integrator replaces those methods).
public struct DaemonControlBackend: ControlBackend {
    let configuration: DaemonConfiguration
    let health: HealthRegistry
    let version: String
    let started: ContinuousClock.Instant

    public init(configuration: DaemonConfiguration, health: HealthRegistry, version: String, started: ContinuousClock.Instant = .now) {
        self.configuration = configuration
        self.health = health
        self.version = version
        self.started = started
    }

    public func status() async throws(ControlError) -> StatusResult {
        let now = ContinuousClock.now
        let stalled = Set(health.stalledLoops(at: now))
        let components = health.components()
        let subsystems = components.keys.sorted().map { name in
            let component = components[name]!
            return StatusResult.Subsystem(
                name: name, state: stalled.contains(name) ? "stalled" : component.state,
                sinceSeconds: Self.seconds(now - component.since), detail: component.detail)
        }
        let overall: String
        if !stalled.isEmpty {
            overall = "failing"
        } else if subsystems.contains(where: { $0.state != "ok" }) {
            overall = "degraded"
        } else {
            overall = "ok"
        }
        return StatusResult(
            deviceID: configuration.deviceID, versions: ["remotaird": version],
            uptimeSeconds: Self.seconds(now - started), state: overall, subsystems: subsystems)
    }

    public func version() async throws(ControlError) -> VersionResult {
        VersionResult(daemon: version)
    }

    public func sensors() async throws(ControlError) -> SensorsResult { throw Self.notAvailable("sensors") }
    public func capture(camera: String?, upload: Bool, note: String?) async throws(ControlError) -> CaptureResult {
        throw Self.notAvailable("capture")
    }
    public func alarms() async throws(ControlError) -> AlarmsResult { throw Self.notAvailable("alarms") }
    public func outbox() async throws(ControlError) -> OutboxResult { throw Self.notAvailable("outbox") }
    public func outboxFlush() async throws(ControlError) -> OutboxFlushResult { throw Self.notAvailable("outbox-flush") }
    public func reload() async throws(ControlError) -> ReloadResult { throw Self.notAvailable("reload") }
    public func calibrateCO2(ppm: Int) async throws(ControlError) -> CalibrationResult { throw Self.notAvailable("calibrate-co2") }

    static func notAvailable(_ command: String) -> ControlError {
        ControlError(.notAvailable, "\(command) is not available in this build of remotaird")
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
