/// The `gpio` section of the configuration.
public struct GPIOSettings: Sendable, Equatable {
    public init() {}

    init(_ map: ConfigMapping) throws(ConfigurationError) {}
}
