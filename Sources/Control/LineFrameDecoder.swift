import ControlProtocol
import NIOCore

/// What the framing layer delivers: a request line, or the news that a line was too long.
public enum ControlFrame: Sendable, Equatable {
    /// One line without its `\n` (and without a trailing `\r`); blank lines are skipped.
    case line(ByteBuffer)
    /// A line went over the limit; everything after it on this connection is discarded.
    case tooLarge
}

/// Splits the byte stream into newline-terminated lines of at most `maxLineBytes`.
///
/// An over-long line is reported once as `.tooLarge` as soon as the limit is passed (without waiting
/// for its newline, so a client cannot make the daemon buffer without bound); the handler answers and
/// closes. A partial line at end of input is dropped: requests end with a newline.
public struct LineFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ControlFrame

    public let maxLineBytes: Int
    /// Bytes at the front of the buffer already searched for a newline, so a slow line is scanned once.
    private var scanned = 0
    private var discarding = false

    public init(maxLineBytes: Int = ControlRequest.maxLineBytes) {
        self.maxLineBytes = maxLineBytes
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if discarding {
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            return .needMoreData
        }
        let view = buffer.readableBytesView
        guard let newline = view[(view.startIndex + scanned)...].firstIndex(of: UInt8(ascii: "\n")) else {
            scanned = view.count
            if view.count > maxLineBytes {
                fail(context: context, buffer: &buffer)
            }
            return .needMoreData
        }
        scanned = 0
        let length = newline - view.startIndex
        guard length <= maxLineBytes else {
            fail(context: context, buffer: &buffer)
            return .needMoreData
        }
        var line = buffer.readSlice(length: length)!  // length is within the readable bytes just searched
        buffer.moveReaderIndex(forwardBy: 1)
        if line.readableBytesView.last == UInt8(ascii: "\r") {
            line.moveWriterIndex(to: line.writerIndex - 1)
        }
        if line.readableBytes > 0 {
            context.fireChannelRead(wrapInboundOut(.line(line)))
        }
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        return .needMoreData
    }

    private mutating func fail(context: ChannelHandlerContext, buffer: inout ByteBuffer) {
        discarding = true
        scanned = 0
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        context.fireChannelRead(wrapInboundOut(.tooLarge))
    }
}
