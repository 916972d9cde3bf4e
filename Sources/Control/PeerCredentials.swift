#if canImport(Glibc)
import Glibc
#endif
import ControlProtocol
import NIOCore

/// Who is on the other end of a control connection, as the kernel saw it at `connect()` (SO_PEERCRED).
public struct PeerCredentials: Sendable, Equatable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    public var description: String { "uid=\(uid) gid=\(gid) pid=\(pid)" }

    /// Mirrors `struct ucred { pid_t pid; uid_t uid; gid_t gid; }` from <sys/socket.h>. Swift's Glibc
    /// module hides `ucred` behind _GNU_SOURCE; a struct of three 32-bit fields has the same layout
    /// (Swift lays out fixed-layout struct fields in declaration order), checked below at run time.
    struct Raw: Sendable {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// Reads SO_PEERCRED from an accepted Unix socket channel.
    static func read(from channel: any Channel) -> EventLoopFuture<PeerCredentials> {
        guard let provider = channel as? any SocketOptionProvider, MemoryLayout<Raw>.size == 12 else {
            return channel.eventLoop.makeFailedFuture(ControlError(.internal, "this channel has no socket options"))
        }
        let future: EventLoopFuture<Raw> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        return future.map { PeerCredentials(pid: $0.pid, uid: $0.uid, gid: $0.gid) }
    }
}

/// The optional allow-list: when it is not configured the socket's file mode and group are the only gate.
/// Group membership is resolved when the server starts (no NSS lookups on the event loop).
public struct PeerPolicy: Sendable, Equatable {
    /// True when configuration names an allow-list; then only the peers below are served, even if
    /// none of its groups resolved (a typo must not open the socket to everyone).
    public var restricted: Bool
    public var uids: Set<UInt32>
    public var gids: Set<UInt32>
    /// uids that list one of the allowed groups as a supplementary group.
    public var memberUIDs: Set<UInt32>

    public init(restricted: Bool? = nil, uids: Set<UInt32> = [], gids: Set<UInt32> = [], memberUIDs: Set<UInt32> = []) {
        self.restricted = restricted ?? !(uids.isEmpty && gids.isEmpty)
        self.uids = uids
        self.gids = gids
        self.memberUIDs = memberUIDs
    }

    /// Everyone who can open the socket.
    public static let open = PeerPolicy()

    public func allows(_ peer: PeerCredentials) -> Bool {
        !restricted || uids.contains(peer.uid) || gids.contains(peer.gid) || memberUIDs.contains(peer.uid)
    }
}
