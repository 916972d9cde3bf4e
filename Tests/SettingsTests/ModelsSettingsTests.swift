import Foundation
import Settings
import Testing

/// The `models` section (issue 22): off when absent, every key validated with its path.
@Suite("models settings")
struct ModelsSettingsTests {
    static let head = "device_id: b\nuplink:\n  endpoint: file:///var/lib/remotair/bucket\n"

    static func parse(_ models: String, head: String = head) throws(ConfigurationError) -> DaemonConfiguration {
        try DaemonConfiguration.parse(head + models, file: "/etc/remotair/remotaird.yaml")
    }

    @Test("absent or empty means off")
    func offWhenAbsent() throws {
        #expect(try Self.parse("").models == nil)
        #expect(try Self.parse("models:\n").models == nil)
    }

    @Test("defaults, and key paths resolved against the configuration's folder")
    func defaults() throws {
        let models = try #require(try Self.parse("models:\n  channel: canary\n  public_keys: [fleet.pub, /keys/old.pub]\n").models)
        #expect(models.channel == "canary")
        #expect(models.pollInterval == .seconds(900))
        #expect(models.publicKeys == ["/etc/remotair/fleet.pub", "/keys/old.pub"])
        #expect(models.allowDowngrade == false)
        let set = try #require(try Self.parse("models:\n  channel: stable\n  public_keys: [k]\n  poll_interval: 30s\n  allow_downgrade: true\n").models)
        #expect(set.pollInterval == .seconds(30) && set.allowDowngrade)
    }

    @Test("bad values are refused naming the key", arguments: [
        ("models:\n  public_keys: [k]\n", "models.channel"),
        ("models:\n  channel: Canary\n  public_keys: [k]\n", "models.channel"),
        ("models:\n  channel: ../x\n  public_keys: [k]\n", "models.channel"),
        ("models:\n  channel: c\n", "models.public_keys"),
        ("models:\n  channel: c\n  public_keys: []\n", "models.public_keys"),
        ("models:\n  channel: c\n  public_keys: [k]\n  poll_interval: 0s\n", "models.poll_interval"),
        ("models:\n  channel: c\n  public_keys: [k]\n  allow_downgrade: maybe\n", "models.allow_downgrade"),
        ("models:\n  channel: c\n  public_keys: [k]\n  chanel: d\n", "models.chanel"),
    ])
    func refused(text: String, keyPath: String) {
        let error = #expect(throws: ConfigurationError.self) { try Self.parse(text) }
        #expect(error?.keyPath == keyPath)
    }

    @Test("models without an uplink endpoint is refused: bundles come through it")
    func needsEndpoint() {
        let error = #expect(throws: ConfigurationError.self) {
            try Self.parse("models:\n  channel: c\n  public_keys: [k]\n", head: "device_id: b\n")
        }
        #expect(error?.keyPath == "models")
        #expect(error?.description.contains("uplink.endpoint") == true)
    }
}
