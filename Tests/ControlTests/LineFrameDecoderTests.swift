import Control
import ControlProtocol
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

/// Framing without sockets, fed in every split (NIO's verifier feeds byte by byte, in chunks, all at once).
@Suite("LineFrameDecoder")
struct LineFrameDecoderTests {
    func line(_ text: String) -> ControlFrame { .line(ByteBuffer(string: text)) }

    @Test("lines come out whole however the bytes are split")
    func splitsLines() throws {
        try ByteToMessageDecoderVerifier.verifyDecoder(
            stringInputOutputPairs: [
                ("{\"id\":1,\"cmd\":\"status\"}\n", [line("{\"id\":1,\"cmd\":\"status\"}")]),
                ("a\nb\r\n\nc\n", [line("a"), line("b"), line("c")]),
                ("\n\r\n", []),
            ],
            decoderFactory: { LineFrameDecoder() })
    }

    /// Feeds `chunks` to a fresh decoder and collects what it delivers.
    func frames(_ chunks: [String], maxLineBytes: Int) async throws -> [ControlFrame] {
        let channel = try await NIOAsyncTestingChannel { channel in
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maxLineBytes: maxLineBytes)))
        }
        for chunk in chunks { try await channel.writeInbound(ByteBuffer(string: chunk)) }
        var out: [ControlFrame] = []
        while let frame = try await channel.readInbound(as: ControlFrame.self) { out.append(frame) }
        _ = try await channel.finish(acceptAlreadyClosed: true)
        return out
    }

    // The verifier reuses one decoder across its strategies, which a decoder that stops for good after
    // `.tooLarge` cannot pass; so these cases are fed whole, byte by byte, and in two halves by hand.
    @Test("a line over the limit is reported once, and everything after it is dropped",
          arguments: [
              ("12345678\n", [ControlFrame.line(ByteBuffer(string: "12345678"))]),
              ("ok\n123456789\nok\n", [.line(ByteBuffer(string: "ok")), .tooLarge]),
              ("1234567890123", [.tooLarge]),
              ("123456789", [.tooLarge]),
          ])
    func tooLarge(input: String, expected: [ControlFrame]) async throws {
        let bytes = input.map(String.init)
        let half = input.index(input.startIndex, offsetBy: input.count / 2)
        #expect(try await frames([input], maxLineBytes: 8) == expected)
        #expect(try await frames(bytes, maxLineBytes: 8) == expected)
        #expect(try await frames([String(input[..<half]), String(input[half...])], maxLineBytes: 8) == expected)
    }

    @Test("the real limit: 64 KiB passes, one byte more does not")
    func realLimit() async throws {
        let exact = String(repeating: "x", count: ControlRequest.maxLineBytes)
        let channel = try await NIOAsyncTestingChannel { channel in
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder()))
        }
        try await channel.writeInbound(ByteBuffer(string: exact + "\n"))
        #expect(try await channel.readInbound(as: ControlFrame.self) == line(exact))
        // The over-long line is reported before its newline arrives: nothing is buffered past the limit.
        try await channel.writeInbound(ByteBuffer(string: exact + "y"))
        #expect(try await channel.readInbound(as: ControlFrame.self) == .tooLarge)
        try await channel.writeInbound(ByteBuffer(string: "\n{\"cmd\":\"status\"}\n"))
        #expect(try await channel.readInbound(as: ControlFrame.self) == nil)
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    @Test("a partial line at end of input is dropped")
    func partialAtEOF() async throws {
        let channel = try await NIOAsyncTestingChannel { channel in
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder()))
        }
        try await channel.writeInbound(ByteBuffer(string: "one\ntw"))
        #expect(try await channel.readInbound(as: ControlFrame.self) == line("one"))
        _ = try await channel.finish(acceptAlreadyClosed: true)
        #expect(try await channel.readInbound(as: ControlFrame.self) == nil)
    }
}
