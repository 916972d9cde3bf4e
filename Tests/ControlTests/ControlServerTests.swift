#if canImport(Glibc)
import Glibc
#endif
@testable import Control
import ControlProtocol
import ControlClient
import Foundation
import Logging
import Settings
import Synchronization
import TestSupport
import Testing

/// The server on real Unix sockets: every command, every abuse case, credentials, file handling.
@Suite("ControlServer on a real socket", .serialized)
struct ControlServerTests {
    @Test("every command answers over the socket", arguments: ControlCommand.allCases)
    func everyCommand(command: ControlCommand) async throws {
        let server = try await TestServer.start { $0.allowCO2Calibration = true }
        defer { Task { await server.stop() } }
        let args = command == .calibrateCO2 ? #","args":{"ppm":420}"# : ""
        let answer = try await exchange(server.path, "{\"id\":11,\"cmd\":\"\(command.rawValue)\"\(args)}\n")[0]
        #expect(answer["id"] as? Int == 11)
        #expect(answer["ok"] as? Bool == true, "\(answer)")
    }

    @Test("socket file: mode 0660, the configured group, removed on shutdown")
    func socketFile() async throws {
        let server = try await TestServer.start()
        var info = stat()
        #expect(lstat(server.path, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o777 == 0o660)
        #expect(info.st_gid == getgrnam("nogroup")!.pointee.gr_gid)
        await server.listener.shutdown()
        #expect(!FileManager.default.fileExists(atPath: server.path))
        server.directory.remove()
    }

    @Test("a stale socket file is replaced; a live daemon's socket and a plain file are refused")
    func staleAndLive() async throws {
        let directory = try TemporaryDirectory("ctl")
        defer { directory.remove() }
        let path = directory.file("control.sock")
        // A socket file left behind by a process that died: bound, never unlinked, nobody listening.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = try #require(UnixAddress(path))
        #expect(address.withSockaddr { bind(fd, $0, $1) } == 0)
        close(fd)
        #expect(SocketFile.probe(path) == .refused)

        var settings = ControlSettings()
        settings.group = "nogroup"
        let first = try await ControlServer(settings: settings, socketPath: path, backend: StubBackend(), environment: [:]).start()
        #expect(try await exchange(path, "{\"cmd\":\"version\"}\n")[0]["ok"] as? Bool == true)

        await #expect(throws: ControlServerError(.alreadyRunning, path: path, "a connection to it succeeded")) {
            _ = try await ControlServer(settings: settings, socketPath: path, backend: StubBackend(), environment: [:]).start()
        }
        // The first daemon is unaffected.
        #expect(try await exchange(path, "{\"cmd\":\"version\"}\n")[0]["ok"] as? Bool == true)
        await first.shutdown()

        let plain = try directory.write("plain", "not a socket")
        do {
            _ = try await ControlServer(settings: settings, socketPath: plain, backend: StubBackend(), environment: [:]).start()
            Issue.record("bound over a regular file")
        } catch let error as ControlServerError {
            #expect(error.kind == .notASocket)
        }
        #expect(FileManager.default.fileExists(atPath: plain))
    }

    @Test("malformed JSON is answered and the connection stays usable")
    func malformed() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let answers = try await exchange(server.path, "{\"id\":1,\"cmd\":\n\u{FF}\n{\"id\":2,\"cmd\":\"status\",\"extra\":true}\n", lines: 3)
        #expect(errorCode(answers[0]) == "bad_request")
        #expect(errorCode(answers[1]) == "bad_request")
        #expect(answers[2]["id"] as? Int == 2 && answers[2]["ok"] as? Bool == true)
    }

    @Test("a line over 64 KiB gets too_large and the connection is closed; others are unaffected")
    func oversize() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let closed = try await blocking { () throws -> (String?, Bool) in
            let connection = try TestConnection(server.path)
            try connection.send(String(repeating: "a", count: 70_000))
            return (errorCode(try connection.read()), connection.isClosedByPeer())
        }
        #expect(closed.0 == "too_large")
        #expect(closed.1)
        #expect(try await exchange(server.path, "{\"cmd\":\"status\"}\n")[0]["ok"] as? Bool == true)
    }

    @Test("the 17th connection gets busy and is closed; the 16 others keep working")
    func connectionLimit() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let path = server.path
        try await blocking {
            var open: [TestConnection] = []
            for index in 0..<16 {
                let connection = try TestConnection(path)
                try connection.send("{\"id\":\(index),\"cmd\":\"version\"}\n")
                #expect(try connection.read()["ok"] as? Bool == true)
                open.append(connection)
            }
            let extra = try TestConnection(path)
            #expect(errorCode(try extra.read()) == "busy")
            #expect(extra.isClosedByPeer())
            for (index, connection) in open.enumerated() {
                try connection.send("{\"id\":\(index),\"cmd\":\"status\"}\n")
                #expect(try connection.read()["id"] as? Int == index)
            }
            open.removeLast()  // closes one
        }
        // The freed slot is available again (the close reaches the server asynchronously).
        var answered = false
        for _ in 0..<50 where !answered {
            if let answer = try? await exchange(path, "{\"cmd\":\"version\"}\n").first, answer["ok"] as? Bool == true {
                answered = true
            } else {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        #expect(answered)
    }

    @Test("200 pipelined requests in one write: every id is answered (ok, or busy past the queue), in one connection")
    func pipelinedFlood() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let text = (0..<200).map { "{\"id\":\($0),\"cmd\":\"version\"}\n" }.joined()
        let answers = try await exchange(server.path, text, lines: 200)
        #expect(Set(answers.compactMap { $0["id"] as? Int }) == Set(0..<200))
        #expect(answers.allSatisfy { $0["ok"] as? Bool == true || errorCode($0) == "busy" })
        #expect(answers.filter { $0["ok"] as? Bool == true }.count >= 16)
    }

    @Test("an idle connection is told and closed after the idle timeout")
    func idle() async throws {
        let server = try await TestServer.start { $0.idleTimeout = .milliseconds(300) }
        defer { Task { await server.stop() } }
        let (code, closed, elapsed) = try await blocking { () throws -> (String?, Bool, Duration) in
            let start = ContinuousClock.now
            let connection = try TestConnection(server.path)
            let code = errorCode(try connection.read())
            return (code, connection.isClosedByPeer(), ContinuousClock.now - start)
        }
        #expect(code == "timeout")
        #expect(closed)
        #expect(elapsed >= .milliseconds(250))
    }

    @Test("a client sending one byte per second stalls nobody and is closed at the idle timeout")
    func slowClient() async throws {
        let server = try await TestServer.start { $0.idleTimeout = .seconds(2) }
        defer { Task { await server.stop() } }
        let path = server.path
        let slowDone = Mutex(false)
        let slow = Task {
            try await blocking { () throws -> (String?, Int) in
                defer { slowDone.withLock { $0 = true } }
                let connection = try TestConnection(path)
                var sent = 0
                for byte in "{\"id\":1,\"cmd\":\"status\"}\n".utf8.prefix(3) {
                    // The third byte may meet the closed connection (EPIPE): the daemon gave up first.
                    do { try connection.send(String(decoding: [byte], as: UTF8.self)) } catch { break }
                    sent += 1
                    Thread.sleep(forTimeInterval: 1)
                }
                return (errorCode(try connection.read()), sent)
            }
        }
        // Meanwhile other clients are answered, all while the slow one is still trickling.
        for id in 0..<20 {
            let answer = try await exchange(path, "{\"id\":\(id),\"cmd\":\"sensors\"}\n")[0]
            #expect(answer["id"] as? Int == id)
        }
        #expect(slowDone.withLock { !$0 }, "answers waited for the slow client")
        let (code, sent) = try await slow.value
        #expect(code == "timeout")
        #expect(sent >= 2)
    }

    @Test("a peer not on the allow-list gets permission_denied; the daemon keeps serving others")
    func refusedPeer() async throws {
        let server = try await TestServer.start { $0.allowUIDs = [4242] }
        defer { Task { await server.stop() } }
        let answer = try await exchange(server.path, "{\"id\":5,\"cmd\":\"capture\"}\n")[0]
        #expect(errorCode(answer) == "permission_denied" && answer["id"] as? Int == 5)
        #expect(server.backend.captureCount == 0)
    }

    @Test("SO_PEERCRED sees the real uid: nobody (65534) on the allow-list is served, root is refused")
    func peerCredentials() async throws {
        let remotairctl = PackagePaths.executable("remotairctl")
        let server = try await TestServer.start {
            $0.allowUIDs = [65534]
            $0.mode = 0o666
        }
        defer { Task { await server.stop() } }
        chmod(server.directory.path, 0o755)
        let (status, stdout, stderr) = try await ChildProcess.run(
            "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", remotairctl, "version", "--socket", server.path])
        #expect(status == 0, "\(stderr)")
        #expect(stdout.hasPrefix("remotaird 0.1.0"))
        let (rootStatus, _, rootStderr) = try await ChildProcess.run(remotairctl, ["version", "--socket", server.path])
        #expect(rootStatus == 1)
        #expect(rootStderr.contains("permission_denied"))
    }

    @Test("allow_groups admits members by primary group")
    func allowGroups() async throws {
        let server = try await TestServer.start {
            $0.allowGroups = ["nogroup"]
            $0.mode = 0o666
        }
        defer { Task { await server.stop() } }
        chmod(server.directory.path, 0o755)
        let (status, _, stderr) = try await ChildProcess.run(
            "/usr/bin/setpriv", ["--reuid=65533", "--regid=65534", "--clear-groups", PackagePaths.executable("remotairctl"), "version", "--socket", server.path])
        #expect(status == 0, "\(stderr)")
    }

    @Test("socket activation: nothing is adopted without LISTEN_* for this process, and an adopted listening socket is served and left in place")
    func activation() async throws {
        // libsystemd reads this process's own variables, which name no socket for it, whatever the server was given.
        #expect(SocketActivation.descriptor(environment: ["LISTEN_PID": "\(getpid())", "LISTEN_FDS": "1"]) == nil)
        #expect(SocketActivation.descriptor(environment: [:]) == nil)

        let directory = try TemporaryDirectory("ctl")
        defer { directory.remove() }
        let path = directory.file("activated.sock")
        // What systemd does for remotaird.socket: bind and listen, then pass the descriptor.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = try #require(UnixAddress(path))
        #expect(address.withSockaddr { bind(fd, $0, $1) } == 0)
        #expect(listen(fd, 16) == 0)
        var server = ControlServer(settings: ControlSettings(), socketPath: "/nonexistent/ignored.sock", backend: StubBackend(), environment: [:])
        server.adoptedDescriptor = fd
        let listener = try await server.start()
        #expect(listener.path == nil)
        #expect(try await exchange(path, "{\"cmd\":\"status\"}\n")[0]["ok"] as? Bool == true)
        await listener.shutdown()
        #expect(FileManager.default.fileExists(atPath: path), "systemd owns the file under activation")

        // A descriptor that is not a listening socket is refused by name.
        let notListening = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(notListening) }
        #expect(throws: ControlServerError.self) { try SocketActivation.validate(notListening) }
    }

    @Test("socket activation for real: systemd-socket-activate starts remotaird at the first connection and libsystemd hands it the socket")
    func activatedDaemon() async throws {
        let dir = try TemporaryDirectory("ctl-activated")
        defer { dir.remove() }
        let socket = dir.file("activated.sock")
        let config = try dir.write("r.yaml", """
            device_id: activated-board
            runtime_dir: \(dir.file("run"))
            calibration_dir: \(PackagePaths.root)/Calibration
            control:
              group: nogroup
            """)
        // What remotaird.socket does: bind and listen, start the daemon at the first connection with
        // LISTEN_FDS=1 and LISTEN_PID set, the socket as fd 3.
        let activator = ChildProcess("/usr/bin/systemd-socket-activate", [
            "-l", socket, PackagePaths.executable("remotaird"), "run", "--simulate", "--config", config, "--state-dir", dir.file("state"),
        ], environment: ["PATH": "/usr/bin:/bin"])
        try activator.start()
        defer { if activator.process.isRunning { activator.signal(SIGKILL) } }
        #expect(await activator.waitForStderr("Listening on", timeout: .seconds(30)), "\(activator.stderr)")

        // This connection is the one that starts the daemon; it is answered once the daemon adopted the socket.
        let answer = try await exchange(socket, "{\"cmd\":\"status\"}\n", timeout: .seconds(60))
        #expect(answer.first?["ok"] as? Bool == true, "\(answer)\n\(activator.stderr)")
        #expect("\(answer)".contains("activated-board"), "\(answer)")
        // The log line may still be in the pipe when the answer is already here.
        #expect(await activator.waitForStderr("listening on the socket from systemd fd=3", timeout: .seconds(10)), "\(activator.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("run/control.sock")), "the daemon bound no socket of its own")

        activator.signal(SIGTERM)
        #expect(await activator.wait(timeout: .seconds(10)) == 0, "\(activator.stderr)")
        #expect(FileManager.default.fileExists(atPath: socket), "systemd owns the file under activation")
    }

    @Test("graceful shutdown of the service closes open connections")
    func serviceShutdown() async throws {
        let directory = try TemporaryDirectory("ctl")
        defer { directory.remove() }
        let path = directory.file("control.sock")
        var settings = ControlSettings()
        settings.group = "nogroup"
        let server = ControlServer(settings: settings, socketPath: path, backend: StubBackend(), environment: [:])
        let task = Task { try await server.run() }
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: path) {
            try await Task.sleep(for: .milliseconds(10))
        }
        let connection = try await blocking { try TestConnection(path) }
        task.cancel()
        try await task.value
        let closed = try await blocking { connection.isClosedByPeer() }
        #expect(closed)
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
