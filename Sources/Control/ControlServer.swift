#if canImport(Glibc)
import Glibc
#endif
import ControlProtocol
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Settings
import Syscalls

/// The control socket as a lifecycle `Service`: binds (or adopts systemd's socket), serves until
/// graceful shutdown, then closes the listener and every connection and removes the socket file.
public struct ControlServer: Service, Sendable {
    let settings: ControlSettings
    let socketPath: String
    let dispatcher: ControlDispatcher
    let logger: Logger
    let environment: [String: String]
    let eventLoopGroup: any EventLoopGroup
    /// A listening descriptor to adopt instead of systemd's fd 3 (tests adopt their own socket).
    var adoptedDescriptor: Int32?
    /// Called once the socket accepts connections (the daemon's readiness for systemd waits on it).
    public var onListening: (@Sendable () -> Void)?

    public init(
        settings: ControlSettings, socketPath: String, backend: any ControlBackend,
        logger: Logger = Logger(label: "control"),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.init(settings: settings, socketPath: socketPath,
                  dispatcher: ControlDispatcher(backend: backend, allowCO2Calibration: settings.allowCO2Calibration, logger: logger),
                  logger: logger, environment: environment, eventLoopGroup: eventLoopGroup)
    }

    /// With a dispatcher the daemon shares with the MQTT command topic, so remote and socket captures pass one gate.
    public init(
        settings: ControlSettings, socketPath: String, dispatcher: ControlDispatcher,
        logger: Logger = Logger(label: "control"),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.settings = settings
        self.socketPath = socketPath
        self.dispatcher = dispatcher
        self.logger = logger
        self.environment = environment
        self.eventLoopGroup = eventLoopGroup
    }

    public func run() async throws {
        let listener: ControlListener
        do {
            listener = try await start()
            onListening?()
        } catch {
            logger.critical("cannot open the control socket", metadata: ["error": .string("\(error)")])
            throw error
        }
        // Returns when graceful shutdown begins; throws when the task is cancelled. Either way: close.
        try? await gracefulShutdown()
        await listener.shutdown()
    }

    /// Starts listening and returns a handle to stop it; `run()` uses this, and so do tests.
    public func start() async throws -> ControlListener {
        let policy = Self.resolvePolicy(settings, logger: logger)
        let registry = ConnectionRegistry(limit: settings.maxConnections)
        let bootstrap = makeBootstrap(policy: policy, registry: registry)

        if let fd = adoptedDescriptor ?? SocketActivation.descriptor(environment: environment) {
            try SocketActivation.validate(fd)
            let channel = try await bootstrap.withBoundSocket(fd).get()
            logger.notice("listening on the socket from systemd", metadata: ["fd": .stringConvertible(fd)])
            return ControlListener(path: nil, channel: channel, registry: registry, inode: nil, logger: logger)
        }

        if try SocketFile.prepare(socketPath) == .removedStale {
            logger.notice("removed stale control socket", metadata: ["path": .string(socketPath)])
        }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(unixDomainSocketPath: socketPath).get()
        } catch {
            throw ControlServerError(.setup, path: socketPath, "bind failed: \(error)")
        }
        do {
            try SocketFile.applyOwnership(socketPath, mode: settings.mode, groupID: groupID())
        } catch {
            try? await channel.close()
            unlink(socketPath)
            throw error
        }
        var info = stat()
        let inode = lstat(socketPath, &info) == 0 ? UInt64(info.st_ino) : nil
        logger.notice("listening", metadata: [
            "path": .string(socketPath), "mode": .string(String(settings.mode, radix: 8)),
            "group": .string(settings.group), "max_connections": .stringConvertible(settings.maxConnections),
        ])
        return ControlListener(path: socketPath, channel: channel, registry: registry, inode: inode, logger: logger)
    }

    private func makeBootstrap(policy: PeerPolicy, registry: ConnectionRegistry) -> ServerBootstrap {
        let dispatcher = self.dispatcher
        let logger = self.logger
        let idleTimeout = TimeAmount(settings.idleTimeout)
        let limit = settings.maxConnections
        return ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: 64)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                guard registry.admit(channel) else {
                    logger.warning("control connection refused: limit reached", metadata: ["max_connections": .stringConvertible(limit)])
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(RefuseConnectionHandler(ControlError(
                            .busy, "the daemon already serves \(limit) control connections; try again shortly")))
                    }
                }
                channel.closeFuture.whenComplete { _ in registry.remove(channel) }
                return PeerCredentials.read(from: channel).flatMapThrowing { peer in
                    let allowed = policy.allows(peer)
                    if !allowed {
                        logger.warning("control peer refused: not on the allow-list", metadata: [
                            "uid": .stringConvertible(peer.uid), "gid": .stringConvertible(peer.gid), "pid": .stringConvertible(peer.pid),
                        ])
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(ControlConnectionHandler(
                        peer: peer, allowed: allowed, idleTimeout: idleTimeout, logger: logger
                    ) { request, peer in
                        await dispatcher.respond(to: request, from: peer)
                    })
                }
            }
    }

    /// The configured group's id, or nil (with a warning) when the group does not exist.
    private func groupID() -> UInt32? {
        guard let entry = getgrnam(settings.group) else {
            logger.warning("control socket group does not exist; the socket keeps the daemon's group", metadata: [
                "group": .string(settings.group), "hint": .string("create it (the package's sysusers file does) or set control.group"),
            ])
            return nil
        }
        return entry.pointee.gr_gid
    }

    /// Resolves the allow-list's group names to ids and member uids once, at start.
    static func resolvePolicy(_ settings: ControlSettings, logger: Logger) -> PeerPolicy {
        var policy = PeerPolicy(
            restricted: !settings.allowUIDs.isEmpty || !settings.allowGroups.isEmpty, uids: Set(settings.allowUIDs))
        for name in settings.allowGroups {
            guard let entry = getgrnam(name) else {
                logger.warning("control.allow_groups names an unknown group; ignored", metadata: ["group": .string(name)])
                continue
            }
            policy.gids.insert(entry.pointee.gr_gid)
            var member = entry.pointee.gr_mem
            while let pointer = member?.pointee {
                if let user = getpwnam(pointer) { policy.memberUIDs.insert(user.pointee.pw_uid) }
                member = member?.advanced(by: 1)
            }
        }
        if policy.restricted && policy.uids.isEmpty && policy.gids.isEmpty {
            logger.warning("control allow-list resolves to nobody; every command will be refused")
        }
        return policy
    }
}

/// A listening control socket; `shutdown()` closes it and its connections.
public final class ControlListener: Sendable {
    /// The socket file, or nil when systemd owns it (socket activation).
    public let path: String?
    let channel: any Channel
    let registry: ConnectionRegistry
    let inode: UInt64?
    let logger: Logger

    init(path: String?, channel: any Channel, registry: ConnectionRegistry, inode: UInt64?, logger: Logger) {
        self.path = path
        self.channel = channel
        self.registry = registry
        self.inode = inode
        self.logger = logger
    }

    /// Connections open now.
    public var connectionCount: Int { registry.count }

    /// Stops accepting, closes open connections, and removes the socket file if it is still ours.
    public func shutdown() async {
        try? await channel.close()
        registry.closeAll()
        if let path, let inode {
            var info = stat()
            // Another daemon may have replaced the file (after a stale-socket takeover): leave it.
            if lstat(path, &info) == 0, UInt64(info.st_ino) == inode {
                unlink(path)
            }
        }
        logger.notice("control socket closed")
    }
}
