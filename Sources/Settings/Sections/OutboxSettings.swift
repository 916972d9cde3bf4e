/// The `outbox` section of the configuration.
public struct OutboxSettings: Sendable, Equatable {
    public init() {}

    init(_ map: ConfigMapping) throws(ConfigurationError) {}
}
