/// The `simulation` section: what the simulated board replays. Ignored on hardware.
public struct SimulationSettings: Sendable, Equatable {
    /// Folder of JPEG frames the simulated cameras replay (one subfolder per scene).
    public var framesDirectory: String?
    /// How fast simulated time runs against the wall clock (sensor drift, scenarios).
    public var speed: Double = 1
    /// A scripted scenario to play (`remotaird run --simulate --scenario NAME`).
    public var scenario: String?

    public init() {}

    init(_ map: ConfigMapping) throws(ConfigurationError) {
        framesDirectory = try map.optional("frames_dir")?.path()
        speed = try map.double("speed", default: speed, in: 0.1...1000)
        scenario = try map.optional("scenario")?.string()
    }
}
