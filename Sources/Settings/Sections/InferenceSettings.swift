/// The `inference` section of the configuration.
public struct InferenceSettings: Sendable, Equatable {
    public init() {}

    init(_ map: ConfigMapping) throws(ConfigurationError) {}
}
