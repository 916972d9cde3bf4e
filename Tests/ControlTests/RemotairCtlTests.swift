#if canImport(Glibc)
import Glibc
#endif
import Control
import ControlProtocol
import ControlClient
import Foundation
import Settings
import TestSupport
import Testing

/// remotairctl's output for each command against golden files, and the built binary's exit statuses.
/// Set REMOTAIR_UPDATE_GOLDEN=1 to rewrite the golden files after an intended change (then review the diff).
@Suite("remotairctl", .serialized)
struct RemotairCtlTests {
    static let goldenDirectory = PackagePaths.root + "/Tests/ControlTests/Golden"
    let remotairctl = PackagePaths.executable("remotairctl")

    static let cases: [(name: String, command: ControlCommand, args: [String: JSONValue])] = [
        ("status", .status, [:]),
        ("sensors", .sensors, [:]),
        ("capture-all", .capture, ["camera": .string("all"), "upload": .bool(true), "note": .string("after cleaning")]),
        ("capture-upstream", .capture, ["camera": .string("upstream"), "upload": .bool(false)]),
        ("alarms", .alarms, [:]),
        ("outbox", .outbox, [:]),
        ("outbox-flush", .outboxFlush, [:]),
        ("reload", .reload, [:]),
        ("calibrate-co2", .calibrateCO2, ["ppm": .number(420)]),
        ("version", .version, [:]),
    ]

    @Test("each command's table matches its golden file", arguments: cases.map(\.name))
    func golden(name: String) async throws {
        let (_, command, args) = try #require(Self.cases.first { $0.name == name })
        let server = try await TestServer.start { $0.allowCO2Calibration = true }
        defer { Task { await server.stop() } }
        let path = server.path
        let outcome = try await blocking {
            ControlCall.perform(command, args: args, socket: path, json: false, style: .plain)
        }
        #expect(outcome.stderr.isEmpty, "\(outcome.stderr)")
        let file = "\(Self.goldenDirectory)/\(name).txt"
        if ProcessInfo.processInfo.environment["REMOTAIR_UPDATE_GOLDEN"] == "1" {
            try outcome.stdout.write(toFile: file, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOfFile: file, encoding: .utf8)
        #expect(outcome.stdout == expected, "\n--- expected\n\(expected)--- got\n\(outcome.stdout)")
    }

    @Test("an outbox that refuses: capture names the camera whose snapshot was not queued and why; alarms show each document's upload state",
          arguments: [("capture-refused", ControlCommand.capture), ("alarms-upload", .alarms)])
    func goldenRefusing(name: String, command: ControlCommand) async throws {
        let server = try await TestServer.start(backend: StubBackend(outboxRefusing: true))
        defer { Task { await server.stop() } }
        let path = server.path
        let args: [String: JSONValue] = command == .capture ? ["camera": .string("all"), "upload": .bool(true), "note": .string("after cleaning")] : [:]
        let outcome = try await blocking { ControlCall.perform(command, args: args, socket: path, json: false, style: .plain) }
        let file = "\(Self.goldenDirectory)/\(name).txt"
        if ProcessInfo.processInfo.environment["REMOTAIR_UPDATE_GOLDEN"] == "1" {
            try outcome.stdout.write(toFile: file, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOfFile: file, encoding: .utf8)
        #expect(outcome.stdout == expected, "\n--- expected\n\(expected)--- got\n\(outcome.stdout)")
        #expect(outcome.status == (command == .capture ? ControlCall.ExitStatus.failed : ControlCall.ExitStatus.ok))
    }

    @Test("a capture whose snapshot the outbox refused exits 1, in tables and with --json, and never claims it was queued")
    func refusedCaptureFails() async throws {
        let server = try await TestServer.start(backend: StubBackend(outboxRefusing: true))
        defer { Task { await server.stop() } }
        let (status, stdout, _) = try await run(["capture", "--note", "after cleaning", "--socket", server.path])
        #expect(status == 1)
        #expect(stdout.contains("upstream: snapshot not queued for upload: below_free_space_floor"))
        #expect(!stdout.contains("snapshots queued for upload"))
        let (jsonStatus, jsonOut, _) = try await run(["capture", "--json", "--socket", server.path])
        #expect(jsonStatus == 1)
        let result = try #require(try decodeObject(jsonOut.trimmingCharacters(in: .newlines))["result"] as? [String: Any])
        #expect(result["upload"] as? Bool == false)
        let cameras = try #require(result["cameras"] as? [[String: Any]])
        #expect(cameras.map { $0["snapshot_queued"] as? Bool } == [false, true])
        #expect((cameras[0]["snapshot_error"] as? [String: Any])?["code"] as? String == "below_free_space_floor")
    }

    @Test("colour only when asked for (a terminal): state words are painted, widths stay aligned")
    func colour() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let path = server.path
        let coloured = try await blocking { ControlCall.perform(.status, socket: path, json: false, style: TerminalStyle(colour: true)) }
        let plain = try await blocking { ControlCall.perform(.status, socket: path, json: false, style: .plain) }
        #expect(coloured.stdout.contains("\u{1B}[32mok\u{1B}[0m"))
        #expect(coloured.stdout.contains("\u{1B}[31moffline\u{1B}[0m"))
        #expect(!plain.stdout.contains("\u{1B}"))
        let stripped = coloured.stdout.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression)
        #expect(stripped == plain.stdout)
    }

    func run(_ arguments: [String], environment: [String: String] = ["PATH": "/usr/bin:/bin"]) async throws -> (Int32, String, String) {
        try await ChildProcess.run(remotairctl, arguments, environment: environment, timeout: .seconds(30))
    }

    @Test("exit statuses: 0 ok, 1 failed, 2 usage, 3 unreachable")
    func exitStatuses() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let socket = ["--socket", server.path]

        let (ok, okOut, _) = try await run(["status"] + socket)
        #expect(ok == 0)
        #expect(okOut.hasPrefix("remotair-0001  degraded"))

        // The daemon says no: calibration is not allowed by configuration.
        let (refused, _, refusedErr) = try await run(["calibrate-co2", "--ppm", "420"] + socket)
        #expect(refused == 1)
        #expect(refusedErr.hasPrefix("remotairctl: not_allowed: CO2 calibration is disabled"))

        // A capture where one camera failed prints the table and fails.
        let (partial, partialOut, _) = try await run(["capture"] + socket)
        #expect(partial == 1)
        #expect(partialOut.contains("downstream: camera_offline"))
        let (single, _, _) = try await run(["capture", "--camera", "upstream", "--no-upload", "--note", "after cleaning"] + socket)
        #expect(single == 0)
        let (unknownCamera, _, unknownErr) = try await run(["capture", "--camera", "attic"] + socket)
        #expect(unknownCamera == 1 && unknownErr.contains("no camera named 'attic'"))

        for usage in [["calibrate-co2"], ["calibrate-co2", "--ppm", "5000"], ["status", "--bogus"], ["frobnicate"],
                      ["capture", "--note", String(repeating: "n", count: 501)], []] {
            let (status, _, stderr) = try await run(usage + socket)
            #expect(status == 2, "\(usage): \(stderr)")
        }

        let (help, helpOut, _) = try await run(["--help"])
        #expect(help == 0 && helpOut.contains("outbox-flush"))

        let (missing, _, missingErr) = try await run(["status", "--socket", server.directory.file("nothing.sock")])
        #expect(missing == 3)
        #expect(missingErr.contains("ENOENT") && missingErr.contains("hint: remotaird is not running"))
    }

    @Test("--json prints the raw response; REMOTAIR_SOCKET picks the socket")
    func jsonAndEnvironment() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let (status, stdout, _) = try await run(["version", "--json"], environment: ["PATH": "/usr/bin:/bin", "REMOTAIR_SOCKET": server.path])
        #expect(status == 0)
        let object = try decodeObject(stdout.trimmingCharacters(in: .newlines))
        #expect(object["id"] as? Int == 1 && object["ok"] as? Bool == true)
        #expect((object["result"] as? [String: Any])?["protocol"] as? Int == 1)
        let (failed, failedOut, _) = try await run(["calibrate-co2", "--ppm", "420", "--json", "--socket", server.path])
        #expect(failed == 1)
        #expect(errorCode(try decodeObject(failedOut.trimmingCharacters(in: .newlines))) == "not_allowed")
    }

    @Test("unreachable daemon: nothing listening, and no permission (the group hint)")
    func unreachableHints() async throws {
        let directory = try TemporaryDirectory("ctl")
        defer { directory.remove() }
        chmod(directory.path, 0o755)
        let path = directory.file("dead.sock")
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let bound = path.withCString { pointer -> Int32 in
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: UnsafeRawBufferPointer(start: pointer, count: strlen(pointer) + 1)) }
            return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        }
        #expect(bound == 0)
        close(fd)
        let (refused, _, refusedErr) = try await run(["status", "--socket", path])
        #expect(refused == 3)
        #expect(refusedErr.contains("ECONNREFUSED") && refusedErr.contains("not running"))

        // A 0660 socket owned by root, reached by a user outside its group.
        let server = try await TestServer.start { $0.group = "root" }
        defer { Task { await server.stop() } }
        chmod(server.directory.path, 0o755)
        let (denied, _, deniedErr) = try await ChildProcess.run(
            "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", remotairctl, "status", "--socket", server.path])
        #expect(denied == 3)
        #expect(deniedErr.contains("EACCES") && deniedErr.contains("usermod -aG remotair"))
    }
}
