/// The `control` section of the configuration.
public struct ControlSettings: Sendable, Equatable {
    public init() {}

    init(_ map: ConfigMapping) throws(ConfigurationError) {}
}
