/// Why the control socket could not be set up, naming the path and the cause.
public struct ControlServerError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Another process answers on the socket: a second daemon.
        case alreadyRunning
        /// The path exists and is not a socket; it is left alone.
        case notASocket
        /// Creating, binding or setting ownership failed.
        case setup
        /// systemd passed something that is not a listening Unix stream socket.
        case activation
    }

    public var kind: Kind
    public var path: String
    public var detail: String

    public init(_ kind: Kind, path: String, _ detail: String) {
        self.kind = kind
        self.path = path
        self.detail = detail
    }

    public var description: String {
        switch kind {
        case .alreadyRunning: "control socket \(path): another remotaird is already listening (\(detail))"
        case .notASocket: "control socket \(path): the path exists and is not a socket; remove it by hand (\(detail))"
        case .setup: "control socket \(path): \(detail)"
        case .activation: "control socket from systemd: \(detail)"
        }
    }
}
