/// The `sensors` section of the configuration.
public struct SensorsSettings: Sendable, Equatable {
    public init() {}

    init(_ map: ConfigMapping) throws(ConfigurationError) {}
}
