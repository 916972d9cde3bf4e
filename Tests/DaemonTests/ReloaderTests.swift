@testable import Daemon
import Foundation
import Settings
import Testing
import TestSupport

@Suite("reload keeps the command line")
struct ReloaderTests {
    @Test("every command-line override survives a reload of the file")
    func overridesSurviveReload() throws {
        let dir = try TemporaryDirectory("remotaird-reloader")
        defer { dir.remove() }
        let file = try dir.write("r.yaml", """
            device_id: reload-board
            board: hardware
            state_dir: \(dir.file("file-state"))
            log_level: warning
            """)
        let overrides = CommandLineOverrides(stateDirectory: dir.file("cli-state"), board: .simulated, logLevel: .debug, scenario: "getting-dirty")
        let reloaded = try Reloader.configuration(reloading: file, overrides: overrides)
        #expect(reloaded.stateDirectory == dir.file("cli-state"))
        #expect(reloaded.board == .simulated)
        #expect(reloaded.logLevel == .debug)
        #expect(reloaded.simulation.scenario == "getting-dirty")
        #expect(reloaded.deviceID == "reload-board", "the rest comes from the file")

        let plain = try Reloader.configuration(reloading: file, overrides: CommandLineOverrides())
        #expect(plain.stateDirectory == dir.file("file-state") && plain.board == .hardware && plain.logLevel == .warning)
        #expect(plain.simulation.scenario == nil)
    }
}
