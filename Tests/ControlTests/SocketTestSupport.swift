@testable import Control
import ControlProtocol
import ControlClient
import Foundation
import Logging
import TestSupport
import Settings

/// A ControlServer with the stub backend on a real Unix socket in a temporary folder.
struct TestServer {
    let directory: TemporaryDirectory
    let path: String
    let listener: ControlListener
    let backend: StubBackend

    static func start(
        backend: StubBackend = StubBackend(), logger: Logger = Logger(label: "control"),
        _ configure: (inout ControlSettings) -> Void = { _ in }
    ) async throws -> TestServer {
        let directory = try TemporaryDirectory("ctl")
        var settings = ControlSettings()
        settings.group = "nogroup"
        configure(&settings)
        let path = directory.file("control.sock")
        let server = ControlServer(settings: settings, socketPath: path, backend: backend, logger: logger, environment: [:])
        let listener = try await server.start()
        return TestServer(directory: directory, path: path, listener: listener, backend: backend)
    }

    func stop() async {
        await listener.shutdown()
        directory.remove()
    }
}

/// Runs blocking socket I/O on its own thread, so the test never blocks Swift's cooperative pool
/// (which the server's backend calls run on).
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// Opens a connection, writes `text` raw, and reads `lines` response lines (as JSON objects).
func exchange(_ path: String, _ text: String, lines: Int = 1, timeout: Duration = .seconds(10)) async throws -> [[String: Any]] {
    let raw = try await blocking { () throws -> [String] in
        let connection = try ControlConnection(path: path, timeout: timeout)
        try connection.write(Array(text.utf8))
        return try (0..<lines).map { _ in String(decoding: try connection.readLine(), as: UTF8.self) }
    }
    return try raw.map { try decodeObject($0) }
}

func decodeObject(_ line: String) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
        throw ControlError(.internal, "not an object: \(line)")
    }
    return object
}

func errorCode(_ response: [String: Any]) -> String? {
    (response["error"] as? [String: Any])?["code"] as? String
}

/// A connection whose answers are parsed as JSON objects; lives on one thread per call.
final class TestConnection: @unchecked Sendable {
    let connection: ControlConnection

    init(_ path: String, timeout: Duration = .seconds(10)) throws {
        connection = try ControlConnection(path: path, timeout: timeout)
    }

    func send(_ text: String) throws { try connection.write(Array(text.utf8)) }

    func read() throws -> [String: Any] { try decodeObject(String(decoding: try connection.readLine(), as: UTF8.self)) }

    /// True when the daemon has closed the connection (read returns end of file).
    func isClosedByPeer() -> Bool {
        do {
            _ = try connection.readLine()
            return false
        } catch {
            return error.message.contains("closed the connection")
        }
    }
}
