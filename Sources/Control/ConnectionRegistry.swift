import NIOCore
import Synchronization

/// The open control connections: enforces the connection limit and closes them all at shutdown.
final class ConnectionRegistry: Sendable {
    let limit: Int
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes a slot for `channel`, or returns false when all slots are taken.
    func admit(_ channel: any Channel) -> Bool {
        channels.withLock { table in
            guard table.count < limit else { return false }
            table[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func remove(_ channel: any Channel) {
        _ = channels.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    var count: Int { channels.withLock { $0.count } }

    /// Closes every connection; answers in flight are dropped.
    func closeAll() {
        let open = channels.withLock { table in
            defer { table.removeAll() }
            return Array(table.values)
        }
        for channel in open {
            channel.close(promise: nil)
        }
    }
}
