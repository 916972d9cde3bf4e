/// The `cameras` section of the configuration.
public struct CamerasSettings: Sendable, Equatable {
    public init() {}

    init(_ map: ConfigMapping) throws(ConfigurationError) {}
}
