@testable import Control
import ControlProtocol
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import Testing

/// The per-connection handler on an in-memory channel: no sockets, time advanced by hand.
@Suite("ControlConnectionHandler")
struct ControlConnectionHandlerTests {
    let peer = PeerCredentials(pid: 1, uid: 1000, gid: 1000)

    func makeChannel(allowed: Bool = true, idle: TimeAmount = .seconds(30), backend: StubBackend = StubBackend()) async throws -> NIOAsyncTestingChannel {
        let dispatcher = ControlDispatcher(backend: backend, allowCO2Calibration: false, logger: Logger(label: "test"))
        let peer = self.peer
        let channel = try await NIOAsyncTestingChannel { channel in
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder()))
            try channel.pipeline.syncOperations.addHandler(ControlConnectionHandler(
                peer: peer, allowed: allowed, idleTimeout: idle, logger: Logger(label: "test")
            ) { request, peer in await dispatcher.respond(to: request, from: peer) })
        }
        try await channel.connect(to: SocketAddress(unixDomainSocketPath: "/test")).get()
        return channel
    }

    func send(_ channel: NIOAsyncTestingChannel, _ text: String) async throws {
        try await channel.writeInbound(ByteBuffer(string: text))
    }

    func response(_ channel: NIOAsyncTestingChannel) async throws -> [String: Any] {
        let buffer = try await channel.waitForOutboundWrite(as: ByteBuffer.self)
        let text = String(buffer: buffer)
        #expect(text.hasSuffix("\n"))
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func code(_ response: [String: Any]) -> String? { (response["error"] as? [String: Any])?["code"] as? String }

    @Test("several requests on one connection are answered in order")
    func pipelined() async throws {
        let channel = try await makeChannel(backend: StubBackend(captureDelay: .milliseconds(50)))
        try await send(channel, "{\"id\":1,\"cmd\":\"capture\"}\n{\"id\":2,\"cmd\":\"status\"}\n{\"id\":3,\"cmd\":\"version\"}\n")
        for id in 1...3 {
            let answer = try await response(channel)
            #expect(answer["id"] as? Int == id)
            #expect(answer["ok"] as? Bool == true)
        }
        #expect(channel.isActive)
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    @Test("malformed JSON and unknown commands are answered and the connection stays open")
    func errorsKeepConnection() async throws {
        let channel = try await makeChannel()
        try await send(channel, "{not json\n")
        #expect(code(try await response(channel)) == "bad_request")
        try await send(channel, "{\"id\":8,\"cmd\":\"dance\"}\n")
        let unknown = try await response(channel)
        #expect(code(unknown) == "unknown_command" && unknown["id"] as? Int == 8)
        try await send(channel, "{\"id\":9,\"cmd\":\"status\"}\n")
        #expect(try await response(channel)["ok"] as? Bool == true)
        #expect(channel.isActive)
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    @Test("an over-long line gets too_large and the connection is closed")
    func tooLarge() async throws {
        let channel = try await makeChannel()
        try await send(channel, String(repeating: "x", count: ControlRequest.maxLineBytes + 1))
        #expect(code(try await response(channel)) == "too_large")
        try await channel.closeFuture.get()
        #expect(!channel.isActive)
    }

    @Test("an idle connection gets timeout and is closed; a request in time keeps it open")
    func idleTimeout() async throws {
        let channel = try await makeChannel(idle: .seconds(30))
        await channel.testingEventLoop.advanceTime(by: .seconds(20))
        try await send(channel, "{\"id\":1,\"cmd\":\"status\"}\n")
        #expect(try await response(channel)["ok"] as? Bool == true)
        // A partial line does not count as activity.
        try await send(channel, "{\"id\":2,")
        await channel.testingEventLoop.advanceTime(by: .seconds(20))
        #expect(channel.isActive)
        await channel.testingEventLoop.advanceTime(by: .seconds(11))
        #expect(code(try await response(channel)) == "timeout")
        try await channel.closeFuture.get()
    }

    @Test("a refused peer gets permission_denied with its request id, then the connection closes")
    func refusedPeer() async throws {
        let backend = StubBackend()
        let channel = try await makeChannel(allowed: false, backend: backend)
        try await send(channel, "{\"id\":4,\"cmd\":\"capture\"}\n")
        let answer = try await response(channel)
        #expect(code(answer) == "permission_denied" && answer["id"] as? Int == 4)
        try await channel.closeFuture.get()
        #expect(backend.captureCount == 0)
    }

    @Test("after the client half-closes, queued requests are answered before the close")
    func halfClose() async throws {
        let channel = try await makeChannel()
        try await send(channel, "{\"id\":1,\"cmd\":\"sensors\"}\n")
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(try await response(channel)["id"] as? Int == 1)
        try await channel.closeFuture.get()
    }
}
