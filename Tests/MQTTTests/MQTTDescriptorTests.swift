import Foundation
import MQTT
import TestSupport
import Testing

/// libmosquitto's socket and the client's wake-up pipe over many clients: the daemon's sink reconnects for as long as
/// a broker is down, and makes a new client at every reload of the mqtt section. Each test runs in a process of its
/// own (an exit test): suites running in parallel would open descriptors of their own.
@Suite("MQTT client descriptors")
struct MQTTDescriptorTests {
    @Test("20 refused connections leave no descriptor behind")
    func refused() async {
        await #expect(processExitsWith: .success) {
            // A port that was free a moment ago: nothing listens there, so connect() is refused.
            let port = try Broker.freePort()
            let cycles = 20
            let leaked = try await OpenDescriptors.leaked {
                for index in 0..<cycles {
                    let client = try MQTTClient(options: MQTTClientOptions(host: "127.0.0.1", port: port, clientID: "refused-\(index)", keepalive: 5))
                    await #expect(throws: MQTTError.self) { try await client.connect() }
                }
            }
            OpenDescriptors.exitIfLeaked(leaked, cycles: cycles)
        }
    }

    @Test("20 clients made and dropped without connecting leave no descriptor behind")
    func unused() async {
        await #expect(processExitsWith: .success) {
            let cycles = 20
            let leaked = try await OpenDescriptors.leaked {
                for index in 0..<cycles {
                    _ = try MQTTClient(options: MQTTClientOptions(host: "127.0.0.1", port: 1883, clientID: "unused-\(index)", keepalive: 5))
                }
            }
            OpenDescriptors.exitIfLeaked(leaked, cycles: cycles)
        }
    }

    @Test("10 connect/publish/disconnect cycles against mosquitto leave no descriptor behind")
    func connectDisconnect() async {
        await #expect(processExitsWith: .success) {
            let broker = try await Broker()
            let cycles = 10
            let leaked = try await OpenDescriptors.leaked {
                for index in 0..<cycles {
                    let client = try MQTTClient(options: MQTTClientOptions(
                        host: "127.0.0.1", port: broker.port, clientID: "cycle-\(index)", keepalive: 5,
                        tls: .init(caFile: broker.caFile, certFile: broker.certFile(broker.device), keyFile: broker.keyFile(broker.device))))
                    try await client.connect()
                    try await client.publish(topic: "remotair/\(broker.device)/status", payload: Array("x".utf8), qos: .atLeastOnce)
                    await client.disconnect()
                }
            }
            OpenDescriptors.exitIfLeaked(leaked, cycles: cycles)
        }
    }
}
