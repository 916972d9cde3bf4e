import Control
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

    @Test("a line over the limit is reported once, and everything after it is dropped")
    func tooLarge() throws {
        // One verification per case: after `.tooLarge` the decoder discards the rest of the connection.
        let cases: [(String, [ControlFrame])] = [
            ("12345678\n", [line("12345678")]),
            ("ok\n123456789\nok\n", [line("ok"), .tooLarge]),
            ("1234567890123", [.tooLarge]),
        ]
        for pair in cases {
            try ByteToMessageDecoderVerifier.verifyDecoder(stringInputOutputPairs: [pair], decoderFactory: { LineFrameDecoder(maxLineBytes: 8) })
        }
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
