#if canImport(Glibc)
import Glibc
#endif
import CMosquitto
import Foundation
import Synchronization

/// An MQTT 5 client on libmosquitto. Its network loop (TCP connect, TLS handshake, keepalive, every
/// callback) runs on a thread of its own, started by `connect()` and ended by `disconnect()` or a lost
/// connection, so nothing blocking ever runs on Swift's cooperative pool; the async functions only wait
/// for the loop's callbacks. It does not reconnect by itself: when and how often to try is the caller's
/// policy (`states` says when the loop stopped and why).
public final class MQTTClient: Sendable {
    public let options: MQTTClientOptions
    /// Every state change, in order; finishes when the client is released.
    public let states: AsyncStream<MQTTConnectionState>
    private let core: Core

    /// Creates the libmosquitto handle and applies TLS, credentials and the last will (all before CONNECT,
    /// as the protocol requires). TLS files are checked for readability here.
    public init(options: MQTTClientOptions, onMessage: @escaping @Sendable (MQTTMessage) -> Void = { _ in }) throws(MQTTError) {
        _ = MQTTClient.libraryInitialised
        self.options = options
        let (stream, continuation) = AsyncStream<MQTTConnectionState>.makeStream()
        states = stream
        core = try Core(options: options, states: continuation, onMessage: onMessage)
    }

    deinit {
        core.requestStop()
    }

    private static let libraryInitialised: Int32 = mosquitto_lib_init()

    /// Connects and returns once the broker accepted CONNECT. Throws the TCP, TLS or CONNACK failure;
    /// the loop thread has then ended and `connect()` may be called again.
    public func connect() async throws(MQTTError) {
        let result: Result<Void, MQTTError> = await withCheckedContinuation { continuation in
            core.start(connectWaiter: continuation)
        }
        try result.get()
    }

    /// Publishes and returns when the message left: for QoS 1 at the broker's PUBACK (a PUBACK with a
    /// failure reason, such as 0x87 not authorized, throws `.rejected`), for QoS 0 once written to the
    /// socket. Throws `.connectionLost` if the connection ends first (the broker may still have it).
    public func publish(_ message: MQTTOutgoingMessage) async throws(MQTTError) {
        let result: Result<Void, MQTTError> = await withCheckedContinuation { continuation in
            core.publish(message, waiter: continuation)
        }
        try result.get()
    }

    public func publish(topic: String, payload: [UInt8], qos: MQTTQoS, retain: Bool = false) async throws(MQTTError) {
        try await publish(MQTTOutgoingMessage(topic: topic, payload: payload, qos: qos, retain: retain))
    }

    /// Subscribes and returns the granted QoS at SUBACK; a refused subscription (ACL) throws `.rejected`.
    /// Messages go to the `onMessage` handler given at init, on the loop thread: keep it short.
    @discardableResult
    public func subscribe(_ filter: String, qos: MQTTQoS) async throws(MQTTError) -> Int32 {
        let result: Result<Int32, MQTTError> = await withCheckedContinuation { continuation in
            core.subscribe(filter, qos: qos, waiter: continuation)
        }
        return try result.get()
    }

    /// Sends DISCONNECT (so the broker discards the last will) and waits for the loop thread to end.
    public func disconnect() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            core.stop(waiter: continuation)
        }
    }
}

/// The libmosquitto handle and everything its callbacks touch. The callbacks find it through the
/// handle's user data; the loop thread holds a strong reference, so it lives until the loop has ended.
private final class Core: @unchecked Sendable {
    typealias Waiter<T> = CheckedContinuation<Result<T, MQTTError>, Never>

    struct State {
        var running = false
        var connected = false
        var stopRequested = false
        var connectWaiter: Waiter<Void>?
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
        var publishWaiters: [Int32: Waiter<Void>] = [:]
        /// Acknowledgements that arrived before `mosquitto_publish` returned their message id to us.
        var earlyAcks: [Int32: Int32] = [:]
        /// Message ids whose waiters were failed at a disconnect: a late acknowledgement is dropped.
        var abandoned: Set<Int32> = []
        var subscribeWaiters: [Int32: Waiter<Int32>] = [:]
        var earlySubacks: [Int32: Int32] = [:]
        /// The first failure of the current connection (CONNACK refusal, broker DISCONNECT reason).
        var sessionError: MQTTError?
        /// libmosquitto's last error log line (OpenSSL's reason for TLS failures).
        var lastLoggedError: String?
    }

    // mosquitto_threaded_set(true) makes libmosquitto lock its own state, so the handle may be used from
    // the loop thread and any caller at once.
    let handle: OpaquePointer
    /// A pipe that wakes the loop thread's poll(2) when a caller queued a packet (publish, subscribe,
    /// DISCONNECT): libmosquitto's own wake-up pipe is private to mosquitto_loop, which this client does not use.
    let wakeRead: Int32
    let wakeWrite: Int32
    let options: MQTTClientOptions
    let state = Mutex(State())
    let states: AsyncStream<MQTTConnectionState>.Continuation
    let onMessage: @Sendable (MQTTMessage) -> Void

    init(options: MQTTClientOptions, states: AsyncStream<MQTTConnectionState>.Continuation,
         onMessage: @escaping @Sendable (MQTTMessage) -> Void) throws(MQTTError) {
        guard let handle = mosquitto_new(options.clientID, true, nil) else {
            throw MQTTError.library(errno == ENOMEM ? Int32(MOSQ_ERR_NOMEM.rawValue) : Int32(MOSQ_ERR_INVAL.rawValue), call: "mosquitto_new")
        }
        self.handle = handle
        var pipeFDs: [Int32] = [-1, -1]
        // pipe(2) and then the flags: Glibc's module does not export pipe2.
        guard pipe(&pipeFDs) == 0 else {
            let code = errno
            mosquitto_destroy(handle)
            throw MQTTError.library(Int32(MOSQ_ERR_ERRNO.rawValue), call: "pipe2", detail: String(cString: strerror(code)))
        }
        wakeRead = pipeFDs[0]
        wakeWrite = pipeFDs[1]
        for fd in pipeFDs {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        self.options = options
        self.states = states
        self.onMessage = onMessage
        do throws(MQTTError) {
            try configure()
        } catch {
            mosquitto_destroy(handle)
            close(wakeRead)
            close(wakeWrite)
            throw error
        }
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        installCallbacks()
    }

    deinit {
        mosquitto_destroy(handle)
        close(wakeRead)
        close(wakeWrite)
        states.finish()
    }

    /// Makes the loop thread look at the socket again (a packet is queued to be written).
    func wake() {
        // A full pipe (many wake-ups not yet read) already wakes the loop: EAGAIN is fine.
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    private func check(_ rc: Int32, _ call: String) throws(MQTTError) {
        guard rc == MOSQ_ERR_SUCCESS.rawValue else { throw MQTTError.library(rc, call: call) }
    }

    private func configure() throws(MQTTError) {
        try check(mosquitto_threaded_set(handle, true), "mosquitto_threaded_set")
        try check(mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5), "mosquitto_int_option(PROTOCOL_VERSION)")
        if let tls = options.tls {
            // A key with a passphrase would make OpenSSL prompt on the terminal and block the loop: the
            // callback answers "no passphrase", so such a key fails here instead.
            try check(mosquitto_tls_set(handle, tls.caFile, nil, tls.certFile, tls.keyFile) { _, _, _, _ in 0 }, "mosquitto_tls_set")
        }
        if options.username != nil || options.password != nil {
            try check(mosquitto_username_pw_set(handle, options.username, options.password), "mosquitto_username_pw_set")
        }
        if let will = options.will {
            let rc = will.payload.withUnsafeBytes { bytes in
                mosquitto_will_set(handle, will.topic, Int32(bytes.count), bytes.baseAddress, will.qos.rawValue, will.retain)
            }
            try check(rc, "mosquitto_will_set")
        }
    }

    private static func core(_ pointer: UnsafeMutableRawPointer?) -> Core? {
        pointer.map { Unmanaged<Core>.fromOpaque($0).takeUnretainedValue() }
    }

    private func installCallbacks() {
        mosquitto_connect_v5_callback_set(handle) { _, user, rc, _, _ in Core.core(user)?.connected(rc) }
        mosquitto_disconnect_v5_callback_set(handle) { _, user, rc, _ in Core.core(user)?.disconnected(rc) }
        mosquitto_publish_v5_callback_set(handle) { _, user, mid, rc, _ in Core.core(user)?.acknowledged(mid, rc) }
        mosquitto_subscribe_v5_callback_set(handle) { _, user, mid, count, granted, _ in
            Core.core(user)?.subscribed(mid, count > 0 ? granted?.pointee ?? 0x80 : 0x80)
        }
        mosquitto_message_v5_callback_set(handle) { _, user, message, properties in
            guard let core = Core.core(user), let message = message?.pointee else { return }
            let payload = message.payload.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: Int(message.payloadlen))) } ?? []
            core.onMessage(MQTTMessage(topic: message.topic.map { String(cString: $0) } ?? "", payload: payload, qos: message.qos, retain: message.retain,
                                       userProperties: Core.userProperties(properties)))
        }
        mosquitto_log_callback_set(handle) { _, user, level, text in
            guard level & Int32(MOSQ_LOG_ERR) != 0, let core = Core.core(user), let text else { return }
            let line = String(cString: text)
            core.state.withLock { $0.lastLoggedError = line }
        }
    }

    /// The user properties of a received PUBLISH. libmosquitto hands each name and value over as a malloc'd copy.
    static func userProperties(_ list: OpaquePointer?) -> [MQTTMessage.UserProperty] {
        var found: [MQTTMessage.UserProperty] = []
        var cursor = list
        var skipFirst = false
        while let current = cursor {
            var name: UnsafeMutablePointer<CChar>?
            var value: UnsafeMutablePointer<CChar>?
            guard let property = mosquitto_property_read_string_pair(current, Int32(MQTT_PROP_USER_PROPERTY.rawValue), &name, &value, skipFirst) else { break }
            if let name, let value { found.append(.init(name: String(cString: name), value: String(cString: value))) }
            free(name)
            free(value)
            cursor = property
            skipFirst = true
        }
        return found
    }

    // MARK: - Callbacks (loop thread)

    private func connected(_ rc: Int32) {
        if rc == 0 {
            let waiter = state.withLock { state in
                state.connected = true
                defer { state.connectWaiter = nil }
                return state.connectWaiter
            }
            states.yield(.connected)
            waiter?.resume(returning: .success(()))
        } else {
            // The broker closes the connection after a refusal; the loop ends and reports it.
            let error = MQTTError.reason(.refused, rc, packet: "CONNACK")
            state.withLock { state in
                if state.sessionError == nil { state.sessionError = error }
            }
        }
    }

    private func disconnected(_ rc: Int32) {
        // rc is 0 after our DISCONNECT; a broker's DISCONNECT reason (>= 0x80) is kept for the report.
        guard rc >= 0x80 else { return }
        let error = MQTTError.reason(.refused, rc, packet: "DISCONNECT")
        state.withLock { state in
            if state.sessionError == nil { state.sessionError = error }
        }
    }

    private func acknowledged(_ mid: Int32, _ rc: Int32) {
        let waiter: Waiter<Void>? = state.withLock { state in
            if let waiter = state.publishWaiters.removeValue(forKey: mid) { return waiter }
            if state.abandoned.remove(mid) == nil { state.earlyAcks[mid] = rc }
            return nil
        }
        waiter?.resume(returning: Self.publishResult(rc))
    }

    private static func publishResult(_ rc: Int32) -> Result<Void, MQTTError> {
        // 0x10 "no matching subscribers" is a success.
        rc < 0x80 ? .success(()) : .failure(.reason(.rejected, rc, packet: "PUBACK"))
    }

    private func subscribed(_ mid: Int32, _ granted: Int32) {
        let waiter: Waiter<Int32>? = state.withLock { state in
            if let waiter = state.subscribeWaiters.removeValue(forKey: mid) { return waiter }
            state.earlySubacks[mid] = granted
            return nil
        }
        waiter?.resume(returning: Self.subscribeResult(granted))
    }

    private static func subscribeResult(_ granted: Int32) -> Result<Int32, MQTTError> {
        granted < 0x80 ? .success(granted) : .failure(.reason(.rejected, granted, packet: "SUBACK"))
    }

    // MARK: - Calls (any thread)

    func start(connectWaiter: Waiter<Void>) {
        let busy = state.withLock { state in
            if state.running { return true }
            state.running = true
            state.stopRequested = false
            state.sessionError = nil
            state.lastLoggedError = nil
            state.connectWaiter = connectWaiter
            return false
        }
        if busy {
            connectWaiter.resume(returning: .failure(MQTTError(kind: .misuse, code: Int32(MOSQ_ERR_INVAL.rawValue), call: "connect", message: "already connected or connecting")))
            return
        }
        states.yield(.connecting)
        let thread = Thread { [self] in runLoop() }
        thread.name = "mqtt-loop"
        thread.start()
    }

    /// The loop thread: a blocking connect (DNS, TCP; TLS completes in the loop), then the loop until
    /// a stop is requested or the connection fails.
    private func runLoop() {
        var rc = mosquitto_connect(handle, options.host, Int32(options.port), Int32(options.keepalive))
        var call = "mosquitto_connect"
        var savedErrno = errno
        var passesSinceStop = 0
        while rc == MOSQ_ERR_SUCCESS.rawValue {
            // After a stop, what is queued (our DISCONNECT) still goes out, for a few passes at most.
            if state.withLock({ $0.stopRequested }) {
                if !mosquitto_want_write(handle) || passesSinceStop >= 3 { break }
                passesSinceStop += 1
            }
            (rc, call) = loopOnce(timeoutMilliseconds: 1000)
            savedErrno = errno
        }
        finish(rc: rc, call: call, errno: savedErrno)
    }

    /// One pass of libmosquitto's loop on poll(2). Not mosquitto_loop: it waits with select(2) and refuses
    /// (MOSQ_ERR_INVAL) a socket numbered 1024 or above, which a process with many open files is given
    /// (seen in the test process; a long-running daemon with a descriptor leak would get there too).
    private func loopOnce(timeoutMilliseconds: Int32) -> (Int32, String) {
        let socket = mosquitto_socket(handle)
        guard socket >= 0 else { return (Int32(MOSQ_ERR_NO_CONN.rawValue), "mosquitto_socket") }
        var fds = [
            pollfd(fd: socket, events: Int16(POLLIN) | (mosquitto_want_write(handle) ? Int16(POLLOUT) : 0), revents: 0),
            pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
        ]
        let ready = poll(&fds, 2, timeoutMilliseconds)
        if ready < 0, errno != EINTR { return (Int32(MOSQ_ERR_ERRNO.rawValue), "poll") }
        if ready > 0 {
            if fds[1].revents != 0 {
                var drain = [UInt8](repeating: 0, count: 64)
                while read(wakeRead, &drain, drain.count) > 0 {}
            }
            if fds[0].revents & Int16(POLLIN | POLLERR | POLLHUP) != 0 {
                let rc = mosquitto_loop_read(handle, 1)
                if rc != MOSQ_ERR_SUCCESS.rawValue { return (rc, "mosquitto_loop_read") }
            }
            // Written only when the socket says so (a wake-up only says "look again": the next pass polls for
            // POLLOUT), as mosquitto_loop does.
            if fds[0].revents & Int16(POLLOUT) != 0 {
                let rc = mosquitto_loop_write(handle, 1)
                if rc != MOSQ_ERR_SUCCESS.rawValue {
                    // A broker that refused our certificate (TLS 1.3: after our side of the handshake) has sent
                    // an alert that makes the write fail with a bare protocol error; reading it lets
                    // libmosquitto log OpenSSL's reason ("alert unknown ca"), which is what the error must say.
                    let read = mosquitto_loop_read(handle, 1)
                    return read != MOSQ_ERR_SUCCESS.rawValue ? (read, "mosquitto_loop_read") : (rc, "mosquitto_loop_write")
                }
            }
        }
        return (mosquitto_loop_misc(handle), "mosquitto_loop_misc")
    }

    private func finish(rc: Int32, call: String, errno savedErrno: Int32) {
        struct Ending {
            var error: MQTTError?
            var connectWaiter: Waiter<Void>?
            var publishWaiters: [Waiter<Void>] = []
            var subscribeWaiters: [Waiter<Int32>] = []
            var stopWaiters: [CheckedContinuation<Void, Never>] = []
        }
        let ending = state.withLock { state in
            var error: MQTTError?
            if !(state.stopRequested && (rc == MOSQ_ERR_SUCCESS.rawValue || rc == MOSQ_ERR_NO_CONN.rawValue)) {
                if let sessionError = state.sessionError {
                    error = sessionError
                } else {
                    var detail = state.lastLoggedError
                    if rc == MOSQ_ERR_ERRNO.rawValue, detail == nil { detail = String(cString: strerror(savedErrno)) }
                    var code = rc == MOSQ_ERR_SUCCESS.rawValue ? Int32(MOSQ_ERR_NO_CONN.rawValue) : rc
                    // With TLS 1.3 the broker checks our certificate after the client's side of the handshake
                    // is done: its refusal (an alert: unknown ca, bad or expired certificate) reaches the loop
                    // as a lost connection with OpenSSL's reason logged. It is a TLS failure, not a network one.
                    if let detail, Self.isCertificateRejection(detail) { code = Int32(MOSQ_ERR_TLS.rawValue) }
                    error = .library(code, call: call, detail: detail)
                }
            }
            var ending = Ending(error: error, connectWaiter: state.connectWaiter)
            ending.publishWaiters = Array(state.publishWaiters.values)
            state.abandoned.formUnion(state.publishWaiters.keys)
            ending.subscribeWaiters = Array(state.subscribeWaiters.values)
            ending.stopWaiters = state.stopWaiters
            state.connectWaiter = nil
            state.publishWaiters = [:]
            state.subscribeWaiters = [:]
            state.earlyAcks = [:]
            state.earlySubacks = [:]
            state.stopWaiters = []
            state.connected = false
            state.running = false
            return ending
        }
        let lost = MQTTError(kind: .connectionLost, code: Int32(MOSQ_ERR_CONN_LOST.rawValue), call: "mosquitto_loop",
                             message: "the connection ended before the broker acknowledged", detail: ending.error?.description)
        ending.connectWaiter?.resume(returning: .failure(ending.error ?? lost))
        for waiter in ending.publishWaiters { waiter.resume(returning: .failure(lost)) }
        for waiter in ending.subscribeWaiters { waiter.resume(returning: .failure(lost)) }
        states.yield(.disconnected(ending.error))
        for waiter in ending.stopWaiters { waiter.resume() }
    }

    /// An OpenSSL error line that means a certificate was refused, by us or by the broker. "unexpected eof"
    /// (a broker that died mid-stream) is deliberately not one.
    static func isCertificateRejection(_ line: String) -> Bool {
        line.hasPrefix("OpenSSL Error") && (line.contains(" alert ") || line.contains("certificate verify failed"))
    }

    func publish(_ message: MQTTOutgoingMessage, waiter: Waiter<Void>) {
        guard state.withLock({ $0.connected }) else {
            waiter.resume(returning: .failure(.library(Int32(MOSQ_ERR_NO_CONN.rawValue), call: "mosquitto_publish")))
            return
        }
        var mid: Int32 = 0
        let rc = message.payload.withUnsafeBytes { bytes in
            mosquitto_publish(handle, &mid, message.topic, Int32(bytes.count), bytes.baseAddress, message.qos.rawValue, message.retain)
        }
        wake()
        guard rc == MOSQ_ERR_SUCCESS.rawValue else {
            waiter.resume(returning: .failure(.library(rc, call: "mosquitto_publish")))
            return
        }
        let early: Int32? = state.withLock { state in
            if let rc = state.earlyAcks.removeValue(forKey: mid) { return rc }
            state.abandoned.remove(mid)
            if state.running {
                state.publishWaiters[mid] = waiter
                return nil
            }
            return Int32.min
        }
        switch early {
        case nil: break
        case Int32.min?:
            waiter.resume(returning: .failure(MQTTError(kind: .connectionLost, code: Int32(MOSQ_ERR_CONN_LOST.rawValue), call: "mosquitto_publish",
                                                       message: "the connection ended before the broker acknowledged")))
        case let rc?: waiter.resume(returning: Self.publishResult(rc))
        }
    }

    func subscribe(_ filter: String, qos: MQTTQoS, waiter: Waiter<Int32>) {
        var mid: Int32 = 0
        let rc = mosquitto_subscribe(handle, &mid, filter, qos.rawValue)
        wake()
        guard rc == MOSQ_ERR_SUCCESS.rawValue else {
            waiter.resume(returning: .failure(.library(rc, call: "mosquitto_subscribe")))
            return
        }
        let early: Int32? = state.withLock { state in
            if let granted = state.earlySubacks.removeValue(forKey: mid) { return granted }
            if state.running {
                state.subscribeWaiters[mid] = waiter
                return nil
            }
            return 0x80
        }
        if let early { waiter.resume(returning: Self.subscribeResult(early)) }
    }

    func stop(waiter: CheckedContinuation<Void, Never>) {
        let running = state.withLock { state in
            guard state.running else { return false }
            state.stopRequested = true
            state.stopWaiters.append(waiter)
            return true
        }
        guard running else {
            waiter.resume()
            return
        }
        // Queues DISCONNECT and wakes the loop; if still connecting, the loop sees stopRequested instead.
        _ = mosquitto_disconnect(handle)
        wake()
    }

    func requestStop() {
        let running = state.withLock { state in
            state.stopRequested = true
            return state.running
        }
        if running {
            _ = mosquitto_disconnect(handle)
            wake()
        }
    }
}
