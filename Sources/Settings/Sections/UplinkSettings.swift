/// The `uplink` section of the configuration.
public struct UplinkSettings: Sendable, Equatable {
    public init() {}

    init(_ map: ConfigMapping) throws(ConfigurationError) {}
}
