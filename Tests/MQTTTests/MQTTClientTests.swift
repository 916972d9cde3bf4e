import Foundation
import TestSupport
import MQTT
import Synchronization
import Testing

/// Collects what a subscriber receives, for assertions.
final class Inbox: Sendable {
    private let messages = Mutex<[MQTTMessage]>([])
    func append(_ message: MQTTMessage) { messages.withLock { $0.append(message) } }
    var all: [MQTTMessage] { messages.withLock { $0 } }

    /// Waits until `count` messages arrived, up to `timeout`.
    func wait(for count: Int, timeout: Duration = .seconds(10)) async -> [MQTTMessage] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, all.count < count {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return all
    }
}

@Suite("MQTT client against a real mosquitto (mutual TLS, ACL)", .serialized)
struct MQTTClientTests {
    func options(_ broker: Broker, identity: String? = nil, caFile: String? = nil, will: MQTTOutgoingMessage? = nil) -> MQTTClientOptions {
        let name = identity ?? broker.device
        return MQTTClientOptions(host: "127.0.0.1", port: broker.port, clientID: "\(name)-\(UUID().uuidString.prefix(6))", keepalive: 5,
                                 tls: .init(caFile: caFile ?? broker.caFile, certFile: broker.certFile(name), keyFile: broker.keyFile(name)),
                                 will: will)
    }

    func watcher(_ broker: Broker, _ filter: String) async throws -> (MQTTClient, Inbox) {
        let inbox = Inbox()
        let client = try MQTTClient(options: options(broker, identity: "watcher")) { inbox.append($0) }
        try await client.connect()
        try await client.subscribe(filter, qos: .atLeastOnce)
        return (client, inbox)
    }

    @Test("QoS 1 publishes resume at PUBACK and arrive in order, byte for byte; a retained one reaches a later subscriber")
    func qos1InOrder() async throws {
        let broker = try await Broker()
        let (watcher, inbox) = try await watcher(broker, "remotair/device-1/#")
        let device = try MQTTClient(options: options(broker))
        try await device.connect()
        let payloads = (0..<50).map { Array("{\"seq\":\($0)}".utf8) }
        for payload in payloads {
            try await device.publish(topic: "remotair/device-1/alarms", payload: payload, qos: .atLeastOnce)
        }
        try await device.publish(topic: "remotair/device-1/status", payload: Array("online".utf8), qos: .atLeastOnce, retain: true)
        let received = await inbox.wait(for: payloads.count + 1)
        #expect(received.filter { $0.topic == "remotair/device-1/alarms" }.map(\.payload) == payloads)

        let late = Inbox()
        let lateClient = try MQTTClient(options: options(broker, identity: "watcher")) { late.append($0) }
        try await lateClient.connect()
        try await lateClient.subscribe("remotair/device-1/status", qos: .atLeastOnce)
        let retained = await late.wait(for: 1)
        #expect(retained.first?.payload == Array("online".utf8))
        #expect(retained.first?.retain == true)
        await device.disconnect()
        await watcher.disconnect()
        await lateClient.disconnect()
    }

    @Test("connection states: connecting, connected, then disconnected(nil) after disconnect()")
    func states() async throws {
        let broker = try await Broker()
        let device = try MQTTClient(options: options(broker))
        try await device.connect()
        await device.disconnect()
        var seen: [MQTTConnectionState] = []
        for await state in device.states {
            seen.append(state)
            if seen.count == 3 { break }
        }
        #expect(seen == [.connecting, .connected, .disconnected(nil)])
    }

    @Test("a CA that does not sign the broker's certificate: connect throws a TLS error with OpenSSL's reason, an authentication failure")
    func wrongCA() async throws {
        let broker = try await Broker()
        let device = try MQTTClient(options: options(broker, caFile: broker.rogueCAFile))
        let error = await #expect(throws: MQTTError.self) { try await device.connect() }
        #expect(error?.isAuthenticationFailure == true)
        #expect(error?.kind == .library)
        #expect(error?.detail?.contains("certificate verify failed") == true, "\(String(describing: error))")
        // The client is usable again: a second attempt fails the same way rather than "already connecting".
        let again = await #expect(throws: MQTTError.self) { try await device.connect() }
        #expect(again?.kind == .library)
    }

    @Test("a client certificate the broker does not trust: connect throws an authentication failure")
    func untrustedClientCertificate() async throws {
        let broker = try await Broker()
        var options = options(broker)
        options.tls = .init(caFile: broker.caFile, certFile: broker.certFile("impostor"), keyFile: broker.keyFile("impostor"))
        let device = try MQTTClient(options: options)
        let error = await #expect(throws: MQTTError.self) { try await device.connect() }
        #expect(error?.isAuthenticationFailure == true, "\(String(describing: error))")
        #expect(error?.detail?.contains("alert unknown ca") == true, "\(String(describing: error))")
    }

    @Test("ACL denial: a QoS 1 publish outside the prefix throws PUBACK 0x87 (an authentication failure); the connection stays up")
    func aclDenial() async throws {
        let broker = try await Broker()
        let device = try MQTTClient(options: options(broker))
        try await device.connect()
        let publishError = await #expect(throws: MQTTError.self) {
            try await device.publish(topic: "remotair/other-device/alarms", payload: [1], qos: .atLeastOnce)
        }
        #expect(publishError?.kind == .rejected)
        #expect(publishError?.code == 0x87)
        #expect(publishError?.isAuthenticationFailure == true)
        // Still connected: an allowed publish goes through.
        try await device.publish(topic: "remotair/device-1/alarms", payload: [2], qos: .atLeastOnce)
        await device.disconnect()
    }

    @Test("the broker going away (killed) reports a network (not authentication) error, and refuses reconnects until it is back")
    func brokerStopped() async throws {
        let broker = try await Broker()
        let device = try MQTTClient(options: options(broker))
        try await device.connect()
        await broker.stop()
        var ended: MQTTError??
        for await state in device.states {
            if case .disconnected(let error) = state { ended = error; break }
        }
        let error = try #require(ended ?? nil)
        #expect(!error.isAuthenticationFailure, "\(error)")
        let publishError = await #expect(throws: MQTTError.self) { try await device.publish(topic: "remotair/device-1/alarms", payload: [1], qos: .atLeastOnce) }
        #expect(publishError?.isAuthenticationFailure == false)
        let refused = await #expect(throws: MQTTError.self) { try await device.connect() }
        #expect(refused?.isAuthenticationFailure == false, "\(String(describing: refused))")
        try await broker.start()
        try await device.connect()
        try await device.publish(topic: "remotair/device-1/alarms", payload: [3], qos: .atLeastOnce)
        await device.disconnect()
    }

    @Test("the last will is set before CONNECT: a connection the broker closes without our DISCONNECT (session takeover) publishes it, retained")
    func lastWill() async throws {
        let broker = try await Broker()
        let (watcher, inbox) = try await watcher(broker, "remotair/device-1/status")
        let will = MQTTOutgoingMessage(topic: "remotair/device-1/status", payload: Array("offline".utf8), qos: .atLeastOnce, retain: true)
        var first = options(broker, will: will)
        first.clientID = "device-1"
        let device = try MQTTClient(options: first)
        try await device.connect()
        // A second connection with the same client id takes the session over: the broker sends DISCONNECT
        // 0x8E to the first and closes it, which publishes the first connection's will.
        var second = options(broker)
        second.clientID = "device-1"
        let successor = try MQTTClient(options: second)
        try await successor.connect()
        var ended: MQTTError??
        for await state in device.states {
            if case .disconnected(let error) = state { ended = error; break }
        }
        // libmosquitto 2.0.11 reports the takeover as a lost connection (it drops DISCONNECT's reason code).
        let error = try #require(ended ?? nil)
        #expect(!error.isAuthenticationFailure, "\(error)")
        let received = await inbox.wait(for: 1)
        #expect(received.first?.payload == will.payload)
        #expect(received.first?.topic == will.topic)
        await successor.disconnect()
        await watcher.disconnect()
    }
}
