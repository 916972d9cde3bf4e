/// The `capture` section: when both cameras are captured and classified, and which frames are kept.
public struct CaptureSettings: Sendable, Equatable {
    /// Time between scheduled captures (15 min in the field; seconds in the demo).
    public var interval: Duration = .seconds(15 * 60)
    /// Random spread added to each interval so a building full of boards does not upload in lockstep.
    public var jitter: Duration = .seconds(30)
    /// The periodic record: one snapshot per camera this often, alarm or not.
    public var snapshotInterval: Duration = .seconds(86400)
    /// Retraining samples: probabilities within this distance of the threshold, or cameras that disagree.
    public var sampleBand: Double = 0.1
    /// At most this many samples a day (they compete with alarms for uplink and disk).
    public var samplesPerDay: Int = 20
    /// The first scheduled capture this long after start-up.
    public var firstCaptureAfter: Duration = .seconds(10)

    public init() {}

    init(_ map: ConfigMapping) throws(ConfigurationError) {
        // Sub-second intervals exist for soak tests of the simulated board.
        interval = try map.duration("interval", default: interval, in: .milliseconds(10)...(.seconds(7 * 86400)))
        jitter = try map.duration("jitter", default: jitter, in: .zero...(.seconds(3600)))
        snapshotInterval = try map.duration("snapshot_interval", default: snapshotInterval, in: .seconds(1)...(.seconds(30 * 86400)))
        sampleBand = try map.double("sample_band", default: sampleBand, in: 0...0.5)
        samplesPerDay = try map.int("samples_per_day", default: samplesPerDay, in: 0...1000)
        firstCaptureAfter = try map.duration("first_capture_after", default: firstCaptureAfter, in: .zero...(.seconds(3600)))
    }
}
