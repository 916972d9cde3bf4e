import Foundation
import Settings
import Testing
import TestSupport

@Suite("Daemon configuration")
struct DaemonConfigurationTests {
    static let minimal = "device_id: board-7\n"

    @Test("the annotated example in systemd/ validates")
    func exampleValidates() throws {
        let file = PackagePaths.root + "/systemd/remotaird.yaml"
        let configuration = try DaemonConfiguration.load(file: file, environment: [:])
        #expect(configuration.deviceID == "remotair-0001")
        #expect(configuration.board == .hardware)
        #expect(configuration.capture.interval == .seconds(900))
    }

    @Test("the demo configuration validates and resolves paths against its folder")
    func demoValidates() throws {
        let file = PackagePaths.root + "/scripts/demo.yaml"
        let configuration = try DaemonConfiguration.load(file: file, environment: [:])
        #expect(configuration.board == .simulated)
        #expect(configuration.stateDirectory == PackagePaths.root + "/scripts/../.state/demo")
    }

    @Test("defaults apply when keys are absent")
    func defaults() throws {
        let configuration = try DaemonConfiguration.parse(Self.minimal, file: "t.yaml")
        #expect(configuration.stateDirectory == "/var/lib/remotair")
        #expect(configuration.logLevel == .info)
        #expect(configuration.capture.jitter == .seconds(30))
    }

    @Test("an unknown key is refused with its path and line")
    func unknownKey() throws {
        let text = "device_id: b\ncapture:\n  interval: 10s\n  intervall: 20s\n"
        let error = #expect(throws: ConfigurationError.self) { try DaemonConfiguration.parse(text, file: "/etc/r.yaml") }
        #expect(error?.problem == .unknownKey)
        #expect(error?.keyPath == "capture.intervall")
        #expect(error?.line == 4)
        #expect(error?.description == "/etc/r.yaml:4: capture.intervall: unknown key")
    }

    @Test("a value of the wrong type is refused")
    func wrongType() throws {
        let error = #expect(throws: ConfigurationError.self) {
            try DaemonConfiguration.parse("device_id: b\ncapture: [1, 2]\n", file: "r.yaml")
        }
        #expect(error?.keyPath == "capture")
        #expect(error?.problem == .wrongType(expected: "a mapping of keys to values"))
    }

    @Test("an out-of-range duration is refused")
    func outOfRange() throws {
        let error = #expect(throws: ConfigurationError.self) {
            try DaemonConfiguration.parse("device_id: b\ncapture:\n  interval: 5ms\n", file: "r.yaml")
        }
        #expect(error?.keyPath == "capture.interval")
        if case .outOfRange = error?.problem {} else { Issue.record("expected outOfRange, got \(String(describing: error))") }
    }

    @Test("a capture interval past 64 bits is refused with file, line, key and the allowed range")
    func hugeInterval() throws {
        let error = #expect(throws: ConfigurationError.self) {
            try DaemonConfiguration.parse("device_id: b\ncapture:\n  interval: 99999999999999999999d\n", file: "r.yaml")
        }
        #expect(error?.description == "r.yaml:3: capture.interval: out of range: 99999999999999999999d is not within 0.01 seconds...604800.0 seconds")
    }

    @Test("a missing required key is named")
    func missingKey() throws {
        let error = #expect(throws: ConfigurationError.self) { try DaemonConfiguration.parse("board: simulated\n", file: "r.yaml") }
        #expect(error?.problem == .missingKey)
        #expect(error?.keyPath == "device_id")
    }

    @Test("a device id that cannot be part of an object key is refused")
    func badDeviceID() throws {
        let error = #expect(throws: ConfigurationError.self) { try DaemonConfiguration.parse("device_id: a/b\n", file: "r.yaml") }
        #expect(error?.keyPath == "device_id")
    }

    @Test("an enumerated value outside its set is refused")
    func badBoard() throws {
        let error = #expect(throws: ConfigurationError.self) {
            try DaemonConfiguration.parse("device_id: b\nboard: raspberry\n", file: "r.yaml")
        }
        #expect(error?.keyPath == "board")
        #expect(error?.description.contains("'raspberry' is not one of hardware, simulated") == true)
    }

    @Test("broken YAML is a syntax error with its line")
    func syntax() throws {
        let error = #expect(throws: ConfigurationError.self) {
            try DaemonConfiguration.parse("device_id: b\ncapture:\n  interval: [1,\n", file: "r.yaml")
        }
        if case .syntax = error?.problem {} else { Issue.record("expected a syntax error, got \(String(describing: error))") }
    }

    @Test("a missing file is unreadable, naming the file")
    func missingFile() throws {
        let error = #expect(throws: ConfigurationError.self) {
            try DaemonConfiguration.load(file: "/nonexistent/remotaird.yaml", environment: [:])
        }
        #expect(error?.file == "/nonexistent/remotaird.yaml")
        if case .unreadable = error?.problem {} else { Issue.record("expected unreadable") }
    }

    @Test("a duplicated key is refused")
    func duplicateKey() throws {
        let error = #expect(throws: ConfigurationError.self) {
            try DaemonConfiguration.parse("device_id: b\ndevice_id: c\n", file: "r.yaml")
        }
        #expect(error != nil)
    }
}

@Suite("Configuration values")
struct ConfigNodeTests {
    func node(_ text: String, environment: [String: String] = [:]) throws -> ConfigMapping {
        try ConfigSource(file: "/etc/remotair/x.yaml", environment: environment).parse(text).mapping()
    }

    @Test("integers in hex, octal, binary and decimal", arguments: [("0x62", 98), ("0o17", 15), ("0b101", 5), ("-12", -12), ("1_000", 1000)])
    func integers(text: String, value: Int) throws {
        #expect(try node("v: \(text)").required("v").int() == value)
    }

    @Test("durations with units", arguments: [("500ms", 500), ("30s", 30_000), ("15m", 900_000), ("2h", 7_200_000), ("1d", 86_400_000), ("2.5", 2_500)])
    func durations(text: String, milliseconds: Int64) throws {
        #expect(try node("v: \(text)").required("v").duration() == .milliseconds(milliseconds))
    }

    @Test("a negative or unitless-garbage duration is refused")
    func badDuration() throws {
        #expect(throws: ConfigurationError.self) { try node("v: -3s").required("v").duration() }
        #expect(throws: ConfigurationError.self) { try node("v: soon").required("v").duration() }
    }

    // Before the range check came ahead of the Int64 conversion, each of these trapped (SIGILL) in
    // duration(in:): the milliseconds overflow Int64, or the seconds past 64 bits round to a Double that does.
    @Test("a duration past 64 bits or past what Duration holds is out of range, naming the range",
          arguments: ["99999999999999999999d", "9223372036854775807", "9223372036854775807ms", "18446744073709551616s", "1e300s", "106751991167301d"])
    func hugeDuration(text: String) throws {
        let ranged = #expect(throws: ConfigurationError.self) {
            try node("a: 1\nv: \(text)").required("v").duration(in: .seconds(1)...(.seconds(7 * 86400)))
        }
        #expect(ranged?.problem == .outOfRange("\(text) is not within 1.0 seconds...604800.0 seconds"))
        #expect(ranged?.line == 2)
        #expect(ranged?.keyPath == "v")
        // Without a range of its own a reader still gets a refusal, never a trap.
        let unranged = #expect(throws: ConfigurationError.self) { try node("v: \(text)").required("v").duration() }
        #expect(unranged?.problem == .outOfRange("\(text) is not within \(ConfigNode.durationLimits.lowerBound)...\(ConfigNode.durationLimits.upperBound)"))
    }

    @Test("the longest duration an unranged reader holds is accepted, one millisecond more is refused")
    func durationLimit() throws {
        // What Int64 nanoseconds hold, in whole milliseconds (about 292 years).
        #expect(try node("v: 9223372036854ms").required("v").duration() == .milliseconds(9_223_372_036_854))
        #expect(throws: ConfigurationError.self) { try node("v: 9223372036855ms").required("v").duration() }
        #expect(throws: ConfigurationError.self) { try node("v: 9223372036854775808ms").required("v").duration() }
    }

    // `--9223372036854775808` used to be read as minus the magnitude Int.min, which traps.
    @Test("an integer with a second sign is not an integer", arguments: ["--9223372036854775808", "-0x-8000000000000000", "--5", "-+5"])
    func doubleSign(text: String) throws {
        let error = #expect(throws: ConfigurationError.self) { try node("v: \(text)").required("v").int(in: 0...10) }
        #expect(error?.problem == .wrongType(expected: "an integer"))
    }

    @Test("integers past 64 bits are refused, not wrapped", arguments: ["99999999999999999999", "0x1FFFFFFFFFFFFFFFF", "-9223372036854775809"])
    func hugeInteger(text: String) throws {
        let error = #expect(throws: ConfigurationError.self) { try node("v: \(text)").required("v").int() }
        #expect(error?.problem == .wrongType(expected: "an integer"))
    }

    @Test("relative paths resolve against the file's folder")
    func relativePath() throws {
        #expect(try node("v: calib/model.onnx").required("v").path() == "/etc/remotair/calib/model.onnx")
        #expect(try node("v: /abs").required("v").path() == "/abs")
    }

    @Test("secrets from the environment win over the file")
    func secrets() throws {
        let map = try node("secret: from-file", environment: ["REMOTAIR_SECRET": "from-env"])
        #expect(try map.secret("secret", environment: "REMOTAIR_SECRET") == "from-env")
        let other = try node("secret: from-file")
        #expect(try other.secret("secret", environment: "REMOTAIR_SECRET") == "from-file")
    }

    @Test("booleans accept YAML's words, not numbers")
    func booleans() throws {
        #expect(try node("v: yes").required("v").bool() == true)
        #expect(try node("v: off").required("v").bool() == false)
        #expect(throws: ConfigurationError.self) { try node("v: 1").required("v").bool() }
    }
}
