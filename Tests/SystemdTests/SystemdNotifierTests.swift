import Foundation
import Health
import Logging
import ServiceLifecycle
import Synchronization
@testable import Systemd
import Testing

@Suite("sd_notify against a real datagram socket")
struct SystemdNotifierTests {
    @Test("READY and STATUS arrive in one datagram", arguments: [false, true])
    func readyAndStatus(abstract: Bool) throws {
        let socket = try NotifySocket(abstract: abstract)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.address])
        try notifier.ready(status: "recovered 3 items")
        #expect(socket.receive() == "READY=1\nSTATUS=recovered 3 items")
        try notifier.status("two\nlines")
        #expect(socket.receive() == "STATUS=two lines")
        try notifier.extendTimeout(.seconds(90))
        #expect(socket.receive() == "EXTEND_TIMEOUT_USEC=90000000")
        // libsystemd was pointed at this socket only for the calls: the process's own variable is as it was,
        // or empty (which libsystemd and SystemdNotifier(environment:) treat as not under systemd).
        let after = getenv("NOTIFY_SOCKET").map { String(cString: $0) } ?? ""
        #expect(after != socket.address)
    }

    @Test("without NOTIFY_SOCKET nothing is sent and nothing fails")
    func noSocket() throws {
        let notifier = SystemdNotifier(environment: [:])
        #expect(notifier.socketPath == nil)
        try notifier.ready()
    }

    @Test("a notify socket that does not exist is a named error")
    func missingSocket() {
        let notifier = SystemdNotifier(socketPath: "/nonexistent/notify")
        let error = #expect(throws: SyscallErrorProxy.self) {
            do { try notifier.watchdog() } catch { throw SyscallErrorProxy(description: "\(error)") }
        }
        #expect(error?.description.contains("sd_notify(NOTIFY_SOCKET) on /nonexistent/notify failed: ENOENT") == true)
    }

    @Test("WATCHDOG_USEC is honoured only for this process")
    func watchdogInterval() {
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "20000000"]) == .seconds(20))
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"]) == nil)
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "0"]) == nil)
        #expect(SystemdNotifier.watchdogInterval(environment: [:]) == nil)
    }
}

struct SyscallErrorProxy: Error { let description: String }

@Suite("Watchdog fed only by a healthy daemon")
struct WatchdogTests {
    @Test("pings stop while a registered loop is overdue and resume when it beats again")
    func stalledLoopWithholdsPing() throws {
        let socket = try NotifySocket(abstract: true)
        let health = HealthRegistry()
        let service = SystemdService(
            notifier: SystemdNotifier(socketPath: socket.address), health: health,
            watchdogInterval: .seconds(20), logger: Logger(label: "test")
        ) { "running" }

        health.register(loop: "capture", period: .seconds(5))
        service.tick()
        #expect(socket.drain() == ["WATCHDOG=1", "STATUS=running"])

        // The capture loop last beat a minute ago: overdue by far.
        health.register(loop: "capture", period: .seconds(5), at: .now - .seconds(60))
        service.tick()
        service.tick()
        #expect(socket.drain() == ["STATUS=running", "STATUS=running"])

        health.beat("capture")
        service.tick()
        #expect(socket.drain() == ["WATCHDOG=1", "STATUS=running"])
    }

    @Test("READY on start and STOPPING on graceful shutdown of the service group")
    func lifecycle() async throws {
        let socket = try NotifySocket(abstract: false)
        let service = SystemdService(
            notifier: SystemdNotifier(socketPath: socket.address), health: HealthRegistry(),
            watchdogInterval: nil, checkInterval: .milliseconds(50), logger: Logger(label: "test")
        ) { "running" }
        let group = ServiceGroup(configuration: .init(services: [.init(service: service)], logger: Logger(label: "group")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            #expect(await socket.next() == "READY=1\nSTATUS=running")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let rest = socket.drain()
        #expect(rest.contains("STOPPING=1"))
        #expect(!rest.contains("WATCHDOG=1"))
    }
}

@Suite("Health registry")
struct HealthRegistryTests {
    @Test("a loop is stalled only once its period has passed without a beat")
    func stalls() {
        let health = HealthRegistry()
        let start = ContinuousClock.now
        health.register(loop: "sensors", period: .seconds(10), at: start)
        health.register(loop: "uplink", period: .seconds(60), at: start)
        #expect(health.stalledLoops(at: start + .seconds(10)) == [])
        #expect(health.stalledLoops(at: start + .seconds(11)) == ["sensors"])
        health.beat("sensors", at: start + .seconds(11))
        #expect(health.stalledLoops(at: start + .seconds(20)) == [])
        #expect(health.stalledLoops(at: start + .seconds(61)) == ["sensors", "uplink"])
        health.unregister(loop: "uplink")
        #expect(health.stalledLoops(at: start + .seconds(61)) == ["sensors"])
    }

    @Test("a component's since changes only with its state word")
    func components() {
        let health = HealthRegistry()
        let start = ContinuousClock.now
        health.publish("camera.upstream", state: "ok", at: start)
        health.publish("camera.upstream", state: "ok", detail: ["captures": "3"], at: start + .seconds(5))
        #expect(health.components()["camera.upstream"]?.since == start)
        #expect(health.components()["camera.upstream"]?.detail == ["captures": "3"])
        health.publish("camera.upstream", state: "offline", at: start + .seconds(9))
        #expect(health.components()["camera.upstream"]?.since == start + .seconds(9))
    }
}

@Suite("Readiness before READY=1")
struct ReadinessTests {
    @Test("READY waits until every part has opened the gate")
    func readyWaitsForGate() async throws {
        let socket = try NotifySocket(abstract: true)
        let gate = ReadinessGate(waitingFor: ["control socket", "outbox"])
        let service = SystemdService(
            notifier: SystemdNotifier(socketPath: socket.address), health: HealthRegistry(),
            watchdogInterval: nil, checkInterval: .seconds(60), readiness: gate, logger: Logger(label: "test")
        ) { "running" }
        let group = ServiceGroup(configuration: .init(services: [.init(service: service)], logger: Logger(label: "group")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            gate.open("outbox")
            try await Task.sleep(for: .milliseconds(300))
            #expect(socket.drain().isEmpty, "READY before the control socket was bound")
            #expect(gate.pending == ["control socket"])
            gate.open("control socket")
            #expect(await socket.next() == "READY=1\nSTATUS=running")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test("shutdown before readiness sends no READY and does not hang")
    func shutdownWhileWaiting() async throws {
        let socket = try NotifySocket(abstract: true)
        let gate = ReadinessGate(waitingFor: ["control socket"])
        let service = SystemdService(
            notifier: SystemdNotifier(socketPath: socket.address), health: HealthRegistry(),
            watchdogInterval: nil, readiness: gate, logger: Logger(label: "test")
        ) { "running" }
        let group = ServiceGroup(configuration: .init(services: [.init(service: service)], logger: Logger(label: "group")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await Task.sleep(for: .milliseconds(100))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(!socket.drain().contains { $0.hasPrefix("READY=1") })
    }
}

@Suite("start timeout extension during a long recovery")
struct StartupTimeoutExtenderTests {
    @Test func extendsAtMostOncePerInterval() throws {
        let socket = try NotifySocket(abstract: true)
        let start = ContinuousClock.now
        let offset = Mutex<Duration>(.zero)
        let extender = StartupTimeoutExtender(notifier: SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.address]),
                                              step: .seconds(60), every: .seconds(10), now: { start + offset.withLock { $0 } })
        #expect(extender.progress())
        #expect(socket.receive() == "EXTEND_TIMEOUT_USEC=60000000")
        offset.withLock { $0 = .seconds(4) }
        #expect(!extender.progress())
        offset.withLock { $0 = .seconds(9) }
        #expect(!extender.progress())
        #expect(socket.drain().isEmpty)
        offset.withLock { $0 = .seconds(10) }
        #expect(extender.progress())
        #expect(socket.receive() == "EXTEND_TIMEOUT_USEC=60000000")
    }

    @Test func withoutSystemdNothingIsSent() {
        let extender = StartupTimeoutExtender(notifier: SystemdNotifier(environment: [:]))
        #expect(!extender.progress())
    }
}
