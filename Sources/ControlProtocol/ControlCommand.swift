/// The commands the control socket answers; the raw value is the `cmd` on the wire and the
/// `remotairctl` subcommand name (`model-rollback` is `remotairctl model rollback`).
public enum ControlCommand: String, Sendable, CaseIterable, Codable {
    case status
    case sensors
    case capture
    case alarms
    case outbox
    case outboxFlush = "outbox-flush"
    case reload
    case calibrateCO2 = "calibrate-co2"
    case version
    /// `remotairctl model` and `remotairctl model rollback` (issue 22).
    case model
    case modelRollback = "model-rollback"

    /// Commands that change state are logged with the peer's uid, gid and pid.
    public var changesState: Bool {
        switch self {
        case .capture, .outboxFlush, .reload, .calibrateCO2, .modelRollback: true
        case .status, .sensors, .alarms, .outbox, .version, .model: false
        }
    }
}
