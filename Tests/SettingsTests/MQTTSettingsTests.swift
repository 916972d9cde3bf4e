import Foundation
import Settings
import Testing
import TestSupport

@Suite("mqtt section")
struct MQTTSettingsTests {
    /// A folder with a CA, a certificate, a key (0600) and a password file (0600), and a configuration beside them.
    struct Files {
        let directory: TemporaryDirectory
        init() throws {
            directory = try TemporaryDirectory("remotair-mqtt-settings")
            for name in ["ca.pem", "device.pem"] { _ = try directory.write(name, "PEM\n") }
            for name in ["device.key", "password"] {
                _ = try directory.write(name, "secret\n")
                chmod(directory.file(name), 0o600)
            }
        }

        func parse(_ mqtt: String) throws(ConfigurationError) -> DaemonConfiguration {
            let indented = mqtt.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
            return try DaemonConfiguration.parse("device_id: board-7\nmqtt:\n\(indented)\n", file: directory.file("remotaird.yaml"))
        }

        func error(_ mqtt: String) -> ConfigurationError? {
            do {
                _ = try parse(mqtt)
                return nil
            } catch {
                return error
            }
        }

        static let tls = "url: mqtts://broker.example:8883\nca_file: ca.pem\ncert_file: device.pem\nkey_file: device.key"
    }

    @Test("absent (or empty) means MQTT off")
    func absent() throws {
        #expect(try DaemonConfiguration.parse("device_id: b\n", file: "r.yaml").mqtt == nil)
        #expect(try DaemonConfiguration.parse("device_id: b\nmqtt:\n", file: "r.yaml").mqtt == nil)
    }

    @Test("mutual TLS with defaults: client id = device id, prefix remotair/{device_id}, relative files against the file's folder")
    func defaults() throws {
        let files = try Files()
        defer { files.directory.remove() }
        let mqtt = try #require(try files.parse(Files.tls).mqtt)
        #expect(mqtt.host == "broker.example")
        #expect(mqtt.port == 8883)
        #expect(mqtt.tls)
        #expect(mqtt.clientID == "board-7")
        #expect(mqtt.topicPrefix == "remotair/board-7")
        #expect(mqtt.topic("alarms/active") == "remotair/board-7/alarms/active")
        #expect(mqtt.caFile == files.directory.file("ca.pem"))
        #expect(mqtt.keyFile == files.directory.file("device.key"))
        #expect(mqtt.keepaliveSeconds == 60)
        #expect(mqtt.telemetryInterval == .seconds(60))
        #expect(!mqtt.homeAssistantDiscovery)
        #expect(!mqtt.acceptCommands)
    }

    @Test("plain mqtt:// takes port 1883; every key read")
    func plain() throws {
        let files = try Files()
        defer { files.directory.remove() }
        let mqtt = try #require(try files.parse("""
            url: mqtt://10.0.0.2
            client_id: duct-7
            username: board
            password_file: password
            topic_prefix: site-3/{device_id}
            keepalive: 30s
            telemetry_interval: 5m
            home_assistant_discovery: true
            accept_commands: true
            """).mqtt)
        #expect(mqtt.port == 1883)
        #expect(!mqtt.tls)
        #expect(mqtt.clientID == "duct-7")
        #expect(mqtt.username == "board")
        #expect(mqtt.passwordFile == files.directory.file("password"))
        #expect(mqtt.topicPrefix == "site-3/board-7")
        #expect(mqtt.keepaliveSeconds == 30)
        #expect(mqtt.telemetryInterval == .seconds(300))
        #expect(mqtt.homeAssistantDiscovery && mqtt.acceptCommands)
    }

    @Test("a key or password file readable by others is refused, naming the file, the key and the fix")
    func secretModes() throws {
        let files = try Files()
        defer { files.directory.remove() }
        chmod(files.directory.file("device.key"), 0o640)
        let error = try #require(files.error(Files.tls))
        #expect(error.keyPath == "mqtt.key_file")
        #expect(error.file == files.directory.file("remotaird.yaml"))
        #expect(error.description.contains(files.directory.file("device.key")))
        #expect(error.description.contains("0600"))
        chmod(files.directory.file("device.key"), 0o400)
        #expect(files.error(Files.tls) == nil)

        chmod(files.directory.file("password"), 0o644)
        #expect(files.error("url: mqtt://h\nusername: u\npassword_file: password")?.keyPath == "mqtt.password_file")
    }

    @Test("missing files, half a client identity, TLS files without mqtts, password without user")
    func files() throws {
        let files = try Files()
        defer { files.directory.remove() }
        let missing = try #require(files.error("url: mqtts://h\nca_file: nowhere.pem"))
        #expect(missing.keyPath == "mqtt.ca_file")
        #expect(missing.description.contains("nowhere.pem: No such file or directory"))
        #expect(files.error("url: mqtts://h")?.keyPath == "mqtt.ca_file")
        #expect(files.error("url: mqtts://h\nca_file: ca.pem\ncert_file: device.pem")?.keyPath == "mqtt.key_file")
        #expect(files.error("url: mqtt://h\nca_file: ca.pem")?.keyPath == "mqtt.ca_file")
        #expect(files.error("url: mqtt://h\npassword_file: password")?.keyPath == "mqtt.password_file")
        #expect(files.error("url: mqtts://h\nca_file: .")?.description.contains("not a regular file") == true)
    }

    @Test("url: scheme mqtt or mqtts, a host, nothing else", arguments: [
        "https://broker:8883", "broker:1883", "mqtts://", "mqtt://user:pw@h", "mqtt://h/path", "mqtt://h:0", "mqtt://h:70000",
    ])
    func badURL(_ url: String) throws {
        let files = try Files()
        defer { files.directory.remove() }
        let error = try #require(files.error("url: \"\(url)\""))
        #expect(error.keyPath == "mqtt.url")
        #expect(!error.description.contains("pw@") || url.contains("pw"))
    }

    @Test("topic_prefix: at most 7 slashes in any topic we publish (AWS IoT Core), no wildcards, no $", arguments: [
        ("a/b/c/d/e", true), ("a/b/c/d/e/f", false), ("a/+/b", false), ("a/#", false), ("$aws/things/x", false), ("/a", false), ("a/", false), ("a//b", false),
        (String(repeating: "x", count: 240), false),
    ])
    func topicPrefix(_ prefix: String, _ valid: Bool) throws {
        let files = try Files()
        defer { files.directory.remove() }
        let error = files.error("url: mqtt://h\ntopic_prefix: \"\(prefix)\"")
        #expect((error == nil) == valid, "\(String(describing: error))")
        if let error { #expect(error.keyPath == "mqtt.topic_prefix") }
        if valid {
            let mqtt = try #require(try files.parse("url: mqtt://h\ntopic_prefix: \"\(prefix)\"").mqtt)
            for suffix in MQTTSettings.topicSuffixes {
                #expect(mqtt.topic(suffix).filter { $0 == "/" }.count <= MQTTSettings.maxTopicSlashes)
            }
        }
    }

    @Test("keepalive within 5s...1200s in whole seconds; telemetry_interval within 1s...1d; unknown keys refused")
    func ranges() throws {
        let files = try Files()
        defer { files.directory.remove() }
        #expect(files.error("url: mqtt://h\nkeepalive: 2s")?.keyPath == "mqtt.keepalive")
        #expect(files.error("url: mqtt://h\nkeepalive: 1h")?.keyPath == "mqtt.keepalive")
        #expect(files.error("url: mqtt://h\nkeepalive: 10500ms")?.keyPath == "mqtt.keepalive")
        #expect(files.error("url: mqtt://h\ntelemetry_interval: 0s")?.keyPath == "mqtt.telemetry_interval")
        #expect(files.error("url: mqtt://h\npassword: hunter2")?.problem == .unknownKey)
        #expect(files.error("topic_prefix: x")?.keyPath == "mqtt.url")
    }
}
