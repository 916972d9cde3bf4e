import Control
import ControlClient
import ControlProtocol
import Foundation
import Settings
import TestSupport
import Testing

/// The control socket over many start/stop cycles and connections: the daemon keeps it for weeks, so every listener
/// and accepted connection must give its descriptor back.
@Suite("control socket descriptors", .serialized)
struct ControlDescriptorTests {
    @Test("20 servers started, asked, and shut down leave no descriptor behind")
    func serverCycles() async throws {
        let cycles = 20
        // A folder name of its own: only sockets bound under it count, not those of suites running beside this one.
        let name = "ctl-fdcount"
        let leaked = try await OpenDescriptors.leaked(matching: { OpenDescriptors.unixSockets(boundTo: name).contains($0) }) {
            for index in 0..<cycles {
                let directory = try TemporaryDirectory(name)
                defer { directory.remove() }
                var settings = ControlSettings()
                settings.group = "nogroup"
                let path = directory.file("control.sock")
                let listener = try await ControlServer(settings: settings, socketPath: path, backend: StubBackend(), environment: [:]).start()
                let answer = try await exchange(path, "{\"id\":\(index),\"cmd\":\"status\"}\n")[0]
                #expect(answer["ok"] as? Bool == true)
                await listener.shutdown()
            }
        }
        #expect(leaked.count < cycles, "\(leaked)")
    }
}
