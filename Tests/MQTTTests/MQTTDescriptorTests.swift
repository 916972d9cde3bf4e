import Foundation
import MQTT
import TestSupport
import Testing

/// libmosquitto's socket and the client's wake-up pipe over many clients: the daemon's sink reconnects for as long as
/// a broker is down, and makes a new client at every reload of the mqtt section. Only pipes and sockets count, and a
/// leak is at least one per cycle.
@Suite("MQTT client descriptors", .serialized)
struct MQTTDescriptorTests {
    static func closedPort() throws -> Int {
        // A port that was free a moment ago: nothing listens there, so connect() is refused.
        try Broker.freePort()
    }

    @Test("20 refused connections leave no descriptor behind")
    func refused() async throws {
        let port = try Self.closedPort()
        let cycles = 20
        let leaked = try await OpenDescriptors.leaked(matching: { $0.hasPrefix("pipe:") || $0.hasPrefix("socket:") }) {
            for index in 0..<cycles {
                let client = try MQTTClient(options: MQTTClientOptions(host: "127.0.0.1", port: port, clientID: "refused-\(index)", keepalive: 5))
                await #expect(throws: MQTTError.self) { try await client.connect() }
            }
        }
        #expect(leaked.count < cycles, "\(leaked)")
    }

    @Test("20 clients made and dropped without connecting leave no descriptor behind")
    func unused() async throws {
        let cycles = 20
        let leaked = try await OpenDescriptors.leaked(matching: { $0.hasPrefix("pipe:") || $0.hasPrefix("socket:") }) {
            for index in 0..<cycles {
                _ = try MQTTClient(options: MQTTClientOptions(host: "127.0.0.1", port: 1883, clientID: "unused-\(index)", keepalive: 5))
            }
        }
        #expect(leaked.count < cycles, "\(leaked)")
    }

    @Test("10 connect/disconnect cycles against mosquitto leave no descriptor behind")
    func connectDisconnect() async throws {
        let broker = try await Broker()
        let cycles = 10
        let leaked = try await OpenDescriptors.leaked(matching: { $0.hasPrefix("pipe:") || $0.hasPrefix("socket:") }) {
            for index in 0..<cycles {
                let client = try MQTTClient(options: MQTTClientOptions(
                    host: "127.0.0.1", port: broker.port, clientID: "cycle-\(index)", keepalive: 5,
                    tls: .init(caFile: broker.caFile, certFile: broker.certFile(broker.device), keyFile: broker.keyFile(broker.device))))
                try await client.connect()
                try await client.publish(topic: "remotair/\(broker.device)/status", payload: Array("x".utf8), qos: .atLeastOnce)
                await client.disconnect()
            }
        }
        #expect(leaked.count < cycles, "\(leaked)")
    }
}
