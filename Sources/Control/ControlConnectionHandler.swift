import ControlProtocol
import Logging
import NIOCore

/// One client connection: answers requests in order, one at a time, without ever blocking the event loop.
///
/// A request is handed to Swift concurrency (`respond`) and its answer written back on the channel's
/// loop; requests that arrive meanwhile wait in a short queue. Errors in the request (bad JSON, unknown
/// command) are answered and the connection stays open; an over-long line or a refused peer is answered
/// and the connection closed. A connection with no complete request for `idleTimeout` is closed, so a
/// client trickling bytes cannot hold one of the few connection slots forever. Reading pauses while
/// the queue is full or the client does not read its answers, so memory per connection stays bounded.
final class ControlConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ControlFrame
    typealias OutboundOut = ByteBuffer

    typealias Responder = @Sendable (ControlRequest, PeerCredentials) async -> [UInt8]

    private enum Work {
        case answer([UInt8], thenClose: Bool)
        case request(ControlRequest)
    }

    /// Requests queued behind the one being answered; more than this get `busy`.
    static let maxQueued = 16

    private let peer: PeerCredentials
    private let allowed: Bool
    private let idleTimeout: TimeAmount
    private let respond: Responder
    private let logger: Logger

    private var queue = CircularBuffer<Work>()
    private var inFlight = false
    private var active = false
    /// No more input will be read: the peer half-closed, or an answer that closes is queued.
    private var inputDone = false
    private var closing = false
    private var idleTimer: Scheduled<Void>?
    private var reading = true

    init(peer: PeerCredentials, allowed: Bool, idleTimeout: TimeAmount, logger: Logger, respond: @escaping Responder) {
        self.peer = peer
        self.allowed = allowed
        self.idleTimeout = idleTimeout
        self.logger = logger
        self.respond = respond
    }

    func channelActive(context: ChannelHandlerContext) {
        active = true
        armIdleTimer(context: context)
        context.fireChannelActive()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // Added to an already active channel (the usual case for accepted connections).
        if context.channel.isActive, !active {
            active = true
            armIdleTimer(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        active = false
        idleTimer?.cancel()
        idleTimer = nil
        queue.removeAll()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !inputDone else { return }
        idleTimer?.cancel()
        idleTimer = nil
        switch unwrapInboundIn(data) {
        case .tooLarge:
            inputDone = true
            queue.append(.answer(ResponseLine.failure(id: nil, ControlError(
                .tooLarge, "request line is over \(ControlRequest.maxLineBytes) bytes; closing the connection")), thenClose: true))
        case .line(let line):
            switch ControlRequest.parse(line.readableBytesView) {
            case .failure(let rejection):
                enqueue(.answer(ResponseLine.failure(id: rejection.id, rejection.error), thenClose: false), context: context)
            case .success(let request) where !allowed:
                inputDone = true
                queue.append(.answer(ResponseLine.failure(id: request.id, ControlError(
                    .permissionDenied, "uid \(peer.uid) is not allowed to use the control socket (control.allow_uids, control.allow_groups)")),
                    thenClose: true))
            case .success(let request):
                enqueue(.request(request), context: context)
            }
        }
        pump(context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            // The client sent everything (`nc -N`, `socat`): answer what is queued, then close.
            inputDone = true
            pump(context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("control connection error", metadata: ["error": .string("\(error)"), "uid": .stringConvertible(peer.uid)])
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        updateReading(context: context)
        context.fireChannelWritabilityChanged()
    }

    /// Reads only while there is room in the queue and the client takes its answers.
    private func updateReading(context: ChannelHandlerContext) {
        let wanted = queue.count < Self.maxQueued && context.channel.isWritable
        guard wanted != reading, let options = context.channel.syncOptions else { return }
        reading = wanted
        try? options.setOption(.autoRead, value: wanted)
    }

    private func enqueue(_ work: Work, context: ChannelHandlerContext) {
        if queue.count >= Self.maxQueued {
            // Only lines already read before reading paused get here; answered out of turn
            // (ids tell the client which request it was).
            if case .request(let request) = work {
                write(ResponseLine.failure(id: request.id, ControlError(.busy, "more than \(Self.maxQueued) requests waiting on this connection")), context: context)
            }
            return
        }
        queue.append(work)
    }

    /// Starts the next piece of work unless a request is being answered.
    private func pump(context: ChannelHandlerContext) {
        while active, !inFlight, !closing, let work = queue.popFirst() {
            switch work {
            case .answer(let bytes, let thenClose):
                if thenClose {
                    closing = true
                    writeAndClose(bytes, context: context)
                } else {
                    write(bytes, context: context)
                }
            case .request(let request):
                inFlight = true
                let promise = context.eventLoop.makePromise(of: [UInt8].self)
                let respond = self.respond
                let peer = self.peer
                promise.completeWithTask { await respond(request, peer) }
                promise.futureResult.assumeIsolated().whenSuccess { bytes in
                    self.inFlight = false
                    guard self.active else { return }
                    self.write(bytes, context: context)
                    self.pump(context: context)
                }
            }
        }
        if active, !closing { updateReading(context: context) }
        guard active, !inFlight, !closing, queue.isEmpty else { return }
        if inputDone {
            closing = true
            context.close(promise: nil)
        } else if idleTimer == nil {
            armIdleTimer(context: context)
        }
    }

    private func armIdleTimer(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: idleTimeout) {
            self.idleTimer = nil
            guard self.active, !self.inFlight, !self.closing else { return }
            self.closing = true
            self.logger.debug("control connection idle; closing", metadata: ["uid": .stringConvertible(self.peer.uid)])
            self.writeAndClose(ResponseLine.failure(id: nil, ControlError(
                .timeout, "no request for \(self.idleTimeout.nanoseconds / 1_000_000) ms; closing the connection")), context: context)
        }
    }

    private func write(_ bytes: [UInt8], context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
    }

    private func writeAndClose(_ bytes: [UInt8], context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}

/// Installed instead of the connection handler when the server is full: one error line, then close.
final class RefuseConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let line: [UInt8]

    init(_ error: ControlError) {
        line = ResponseLine.failure(id: nil, error)
    }

    func channelActive(context: ChannelHandlerContext) {
        refuse(context: context)
        context.fireChannelActive()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { refuse(context: context) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    private var refused = false

    private func refuse(context: ChannelHandlerContext) {
        guard !refused else { return }
        refused = true
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: line))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
