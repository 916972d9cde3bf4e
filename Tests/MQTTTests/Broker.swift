import Foundation
import TestSupport

/// A real mosquitto on loopback for one test: its own CA, server certificate and client certificates made
/// by `openssl`, mutual TLS required, the certificate's CN as user name, and an ACL that limits the device
/// to `remotair/<device>/#` while the `watcher` user may read everything and the `operator` user may ask any
/// board for a capture (write `remotair/+/cmd/capture`, read the results). Subscriptions are logged
/// (`log_type subscribe`), so a test can see what a client subscribed to.
final class Broker: @unchecked Sendable {
    let directory: TemporaryDirectory
    let port: Int
    let device: String
    private var process: ChildProcess?

    /// PEM files: the broker's CA, a CA the broker does not know, and client identities.
    var caFile: String { directory.file("ca.pem") }
    var rogueCAFile: String { directory.file("rogue-ca.pem") }
    func certFile(_ name: String) -> String { directory.file("\(name).pem") }
    func keyFile(_ name: String) -> String { directory.file("\(name).key") }

    /// Topic patterns the device may read and write (the ACL); its whole prefix unless a test narrows it.
    let deviceTopics: [String]

    init(device: String = "device-1", deviceTopics: [String]? = nil) async throws {
        self.device = device
        self.deviceTopics = deviceTopics ?? ["remotair/\(device)/#", "homeassistant/+/\(device)/#"]
        directory = try TemporaryDirectory("remotair-mqtt")
        port = try Self.freePort()
        try await makeCertificates()
        try writeConfiguration()
        try await start()
    }

    deinit {
        process?.signal(SIGKILL)
        directory.remove()
    }

    private func openssl(_ arguments: [String]) async throws {
        let (status, _, stderr) = try await ChildProcess.run("/usr/bin/openssl", arguments)
        guard status == 0 else { throw BrokerError("openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(stderr)") }
    }

    private func makeCA(_ name: String) async throws {
        try await openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                           "-subj", "/CN=\(name)", "-keyout", directory.file("\(name).key"), "-out", directory.file("\(name).pem")])
    }

    /// A certificate for `name` signed by `ca`; `san` for the server's loopback address.
    private func makeCertificate(_ name: String, ca: String, san: String? = nil) async throws {
        try await openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=\(name)",
                           "-keyout", keyFile(name), "-out", directory.file("\(name).csr")])
        var arguments = ["x509", "-req", "-in", directory.file("\(name).csr"), "-CA", directory.file("\(ca).pem"), "-CAkey", directory.file("\(ca).key"),
                         "-CAcreateserial", "-days", "2", "-out", certFile(name)]
        if let san {
            let extensions = try directory.write("\(name).ext", "subjectAltName=\(san)\n")
            arguments += ["-extfile", extensions]
        }
        try await openssl(arguments)
        chmod(keyFile(name), 0o600)
    }

    private func makeCertificates() async throws {
        try await makeCA("ca")
        try await makeCA("rogue-ca")
        try await makeCertificate("server", ca: "ca", san: "IP:127.0.0.1,DNS:localhost")
        try await makeCertificate(device, ca: "ca")
        try await makeCertificate("watcher", ca: "ca")
        try await makeCertificate("other-device", ca: "ca")
        try await makeCertificate("operator", ca: "ca")
        // Same CN as the device, signed by a CA the broker does not trust.
        try await makeCertificate("impostor", ca: "rogue-ca")
    }

    private func writeConfiguration() throws {
        _ = try directory.write("acl", """
            user \(device)
            \(deviceTopics.map { "topic readwrite \($0)" }.joined(separator: "\n"))
            user other-device
            topic readwrite remotair/other-device/#
            user watcher
            topic read #
            user operator
            topic write remotair/+/cmd/capture
            topic read remotair/+/cmd/capture/result

            """)
        _ = try directory.write("mosquitto.conf", """
            # Written by the MQTT tests; the broker lives as long as one test.
            user root
            persistence false
            log_dest stderr
            log_type error
            log_type warning
            log_type notice
            log_type information
            log_type subscribe
            per_listener_settings false
            allow_anonymous false
            acl_file \(directory.file("acl"))
            listener \(port) 127.0.0.1
            cafile \(caFile)
            certfile \(certFile("server"))
            keyfile \(keyFile("server"))
            require_certificate true
            use_identity_as_username true

            """)
    }

    /// Starts (or restarts) mosquitto and waits until it accepts TCP connections.
    func start() async throws {
        let child = ChildProcess("/usr/sbin/mosquitto", ["-c", directory.file("mosquitto.conf")])
        try child.start()
        process = child
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            if Self.accepts(port: port) { return }
            if !child.process.isRunning { throw BrokerError("mosquitto exited: \(child.stderr)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BrokerError("mosquitto did not listen on \(port): \(child.stderr)")
    }

    /// Stops mosquitto and waits for it to exit. SIGKILL: the test process blocks SIGTERM in its threads and
    /// the child inherits that mask, so mosquitto would never see a SIGTERM (and a killed broker is the
    /// harsher outage anyway).
    func stop() async {
        guard let child = process else { return }
        child.signal(SIGKILL)
        _ = await child.wait(timeout: .seconds(10))
        process = nil
    }

    var log: String { process?.stderr ?? "" }

    /// A port that was free a moment ago (bound to port 0 and released), for the broker to take.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BrokerError("socket: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw BrokerError("bind: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

struct BrokerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
