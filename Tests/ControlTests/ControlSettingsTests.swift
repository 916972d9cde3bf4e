import ControlProtocol
import Settings
import TestSupport
import Testing

@Suite("control settings")
struct ControlSettingsTests {
    func parse(_ control: String) throws(ConfigurationError) -> ControlSettings {
        try DaemonConfiguration.parse("device_id: b\nruntime_dir: /run/x\ncontrol:\n\(control)", file: "/etc/r.yaml").control
    }

    @Test("defaults: socket in the runtime directory, group remotair, 0660, 30 s, 16 connections, no calibration")
    func defaults() throws {
        let configuration = try DaemonConfiguration.parse("device_id: b\nruntime_dir: /run/x\n", file: "/etc/r.yaml")
        let control = configuration.control
        #expect(control.socketPath(runtimeDirectory: configuration.runtimeDirectory) == "/run/x/control.sock")
        #expect(control.group == "remotair" && control.mode == 0o660)
        #expect(control.idleTimeout == .seconds(30) && control.maxConnections == 16)
        #expect(!control.allowCO2Calibration && control.allowUIDs.isEmpty && control.allowGroups.isEmpty)
    }

    @Test("without runtime_dir or control.socket the daemon listens where remotairctl looks by default")
    func defaultPathShared() throws {
        let configuration = try DaemonConfiguration.parse("device_id: b\n", file: "/etc/r.yaml")
        #expect(configuration.control.socketPath(runtimeDirectory: configuration.runtimeDirectory) == ControlSocketPath.defaultPath)
        #expect(ControlSocketPath.defaultPath == "/run/remotair/control.sock")
    }

    @Test("every key is read; the mode is octal")
    func full() throws {
        let control = try parse("""
              socket: run/ctl.sock
              group: field
              mode: 0640
              allow_uids: [0, 1000]
              allow_groups: [field, remotair]
              idle_timeout: 5s
              max_connections: 4
              allow_co2_calibration: true
            """)
        #expect(control.socket == "/etc/run/ctl.sock")
        #expect(control.group == "field" && control.mode == 0o640)
        #expect(control.allowUIDs == [0, 1000] && control.allowGroups == ["field", "remotair"])
        #expect(control.idleTimeout == .seconds(5) && control.maxConnections == 4 && control.allowCO2Calibration)
    }

    @Test("bad values name the key",
          arguments: [
              ("  mode: 0999\n", "control.mode: expected an octal file mode such as 0660"),
              ("  mode: 0060\n", "control.mode: mode 0060 must give the owner read and write (0600)"),
              ("  allow_uids: [root]\n", "control.allow_uids[0]: expected an integer"),
              ("  max_connections: 0\n", "control.max_connections: out of range"),
              ("  idle: 5s\n", "control.idle: unknown key"),
              ("  socket: /\(String(repeating: "s", count: 120))\n", "control.socket: socket path is longer than 107 bytes"),
          ])
    func errors(text: String, message: String) {
        #expect {
            _ = try parse(text)
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test("the example configuration's control block parses")
    func example() throws {
        let configuration = try DaemonConfiguration.load(file: PackagePaths.root + "/systemd/remotaird.yaml")
        #expect(configuration.control == ControlSettings())
    }
}
