/// The `capture` section: when both cameras are captured and classified.
public struct CaptureSettings: Sendable, Equatable {
    /// Time between scheduled captures (15 min in the field; seconds in the demo).
    public var interval: Duration = .seconds(15 * 60)
    /// Random spread added to each interval so a building full of boards does not upload in lockstep.
    public var jitter: Duration = .seconds(30)

    public init() {}

    init(_ map: ConfigMapping) throws(ConfigurationError) {
        interval = try map.duration("interval", default: interval, in: .seconds(1)...(.seconds(7 * 86400)))
        jitter = try map.duration("jitter", default: jitter, in: .zero...(.seconds(3600)))
    }
}
