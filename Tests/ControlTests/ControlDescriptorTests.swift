import Control
import ControlClient
import ControlProtocol
import Foundation
import TestSupport
import Testing

/// The control socket over many start/stop cycles and connections: the daemon keeps it for weeks, so every listener,
/// accepted connection and client socket must give its descriptor back.
@Suite("control socket descriptors")
struct ControlDescriptorTests {
    @Test("20 servers started, asked, and shut down leave no descriptor behind")
    func serverCycles() async {
        // In a process of its own (an exit test): suites running in parallel would open descriptors of their own.
        await #expect(processExitsWith: .success) {
            let cycles = 20
            let leaked = try await OpenDescriptors.leaked {
                for index in 0..<cycles {
                    let server = try await TestServer.start()
                    let answer = try await exchange(server.path, "{\"id\":\(index),\"cmd\":\"status\"}\n")[0]
                    #expect(answer["ok"] as? Bool == true)
                    await server.stop()
                }
            }
            OpenDescriptors.exitIfLeaked(leaked, cycles: cycles)
        }
    }
}
