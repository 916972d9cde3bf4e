import ControlProtocol

/// What the control socket asks of the daemon: one async method per command.
///
/// The dispatcher has already validated arguments and checked configuration (CO2 calibration allowed),
/// and serialises manual captures, so an implementation only does the work. Methods run on Swift
/// concurrency, never on the socket's event loop, so they may wait for hardware.
public protocol ControlBackend: Sendable {
    func status() async throws(ControlError) -> StatusResult
    func sensors() async throws(ControlError) -> SensorsResult
    /// Captures one camera (or all when `camera` is nil) and waits for classification.
    func capture(camera: String?, upload: Bool, note: String?) async throws(ControlError) -> CaptureResult
    func alarms() async throws(ControlError) -> AlarmsResult
    func outbox() async throws(ControlError) -> OutboxResult
    /// Makes every waiting item due now.
    func outboxFlush() async throws(ControlError) -> OutboxFlushResult
    func reload() async throws(ControlError) -> ReloadResult
    /// SCD4x forced recalibration to `ppm` (400...2000).
    func calibrateCO2(ppm: Int) async throws(ControlError) -> CalibrationResult
    func version() async throws(ControlError) -> VersionResult
}

/// Model bundles (issue 22): a backend without them (tests, older wiring) answers `not_available`.
public protocol ModelControlBackend: Sendable {
    func model() async throws(ControlError) -> ModelResult
    /// Back to the previous model; answers what runs now.
    func modelRollback() async throws(ControlError) -> ModelResult
}
