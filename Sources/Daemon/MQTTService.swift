import Foundation
import Control
import ControlProtocol
import Health
import Inference
import Logging
import Monitoring
import MQTT
import MQTTSink
import Outbox
import Risk
import Sensors
import ServiceLifecycle
import Settings
import Uplink
import Synchronization

/// The MQTT sink (issue 19): publishes the outbox's alarm events to `{prefix}/alarms` with QoS 1, one at a
/// time and in order, each marked published only at the broker's PUBACK; announces `{prefix}/status`
/// `online` (retained) at every connect, with the last will `offline` on the same topic; keeps the retained
/// `{prefix}/alarms/active` set current, sends `{prefix}/telemetry` (QoS 0, only while connected) and, when
/// enabled, Home Assistant's discovery configs; other queued events (`model_activated`) go out the same way on
/// their own topic (`{prefix}/events`). With `accept_commands` it subscribes to `{prefix}/cmd/capture` and
/// answers each request on `{prefix}/cmd/capture/result`, one at a time, through the control socket's capture
/// path. `MQTTSinkPolicy`
/// decides when to connect, back off or pause; this service only carries its actions out. It runs beside
/// the uplink and the main job and never waits on them (nor they on it): a broker that is away only
/// leaves events queued.
struct MQTTService: Service {
    let settings: MQTTSettings
    let outbox: Outbox
    let deviceID: String
    let version: String
    let modelSHA256: String
    /// `remotairctl status` shows the sink as the `mqtt` component (state, last error, queue depth, last publish).
    let health: HealthRegistry
    /// The `{prefix}/telemetry` document of the moment (nil: no readings yet).
    var telemetry: @Sendable () -> [UInt8]? = { nil }
    /// The `{prefix}/alarms/active` document: the current alarm set.
    var activeAlarms: @Sendable () async -> [UInt8]? = { nil }
    /// Runs a remote capture the way the control socket does and answers its response line (`accept_commands`).
    var remoteCapture: @Sendable (MQTTCaptureCommand) async -> [UInt8] = { command in
        Array(ResponseLine.failure(id: command.id, ControlError(.notAvailable, "this daemon runs no captures")).dropLast())
    }
    /// Remote capture requests waiting their turn; more are refused (`busy`) rather than queued without bound.
    static let commandQueueLimit = 8
    let logger: Logger

    /// The document on `{prefix}/status`: `online` at connect, `offline` as the last will.
    func statusDocument(online: Bool) -> [UInt8] {
        var document: [String: Any] = ["device_id": deviceID, "state": online ? "online" : "offline"]
        if online {
            document["version"] = version
            document["model_sha256"] = modelSHA256
            document["outbox_depth"] = outbox.mqttDepth()
            document["at"] = ISO8601DateFormatter().string(from: Date())
        }
        return (try? [UInt8](JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]))) ?? Array("{\"state\":\"\(online ? "online" : "offline")\"}".utf8)
    }

    func makeClient(onMessage: @escaping @Sendable (MQTTMessage) -> Void = { _ in }) throws -> MQTTClient {
        var password: String?
        if let file = settings.passwordFile {
            // First line only; the value is handed to libmosquitto and never logged.
            let text = try String(contentsOfFile: file, encoding: .utf8)
            password = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        }
        let tls = settings.tls ? MQTTClientOptions.TLS(caFile: settings.caFile ?? "", certFile: settings.certFile, keyFile: settings.keyFile) : nil
        let options = MQTTClientOptions(
            host: settings.host, port: settings.port, clientID: settings.clientID, keepalive: settings.keepaliveSeconds, tls: tls,
            username: settings.username, password: password,
            will: MQTTOutgoingMessage(topic: settings.topic("status"), payload: statusDocument(online: false), qos: .atLeastOnce, retain: true))
        return try MQTTClient(options: options, onMessage: onMessage)
    }

    func run() async throws {
        let client: MQTTClient
        // Requests arrive on the loop thread: queued here, run one at a time by `answerCommands`.
        let (commands, commandQueue) = AsyncStream<MQTTMessage>.makeStream(bufferingPolicy: .bufferingOldest(Self.commandQueueLimit))
        // Past the queue, requests are answered `busy`; past that too (a flood), dropped unanswered.
        let overflow = AsyncStream<MQTTMessage>.makeStream(bufferingPolicy: .bufferingOldest(Self.commandQueueLimit))
        let commandTopic = settings.topic("cmd/capture")
        do {
            client = try makeClient { message in
                guard message.topic == commandTopic else { return }
                if case .dropped(let refused) = commandQueue.yield(message) { overflow.continuation.yield(refused) }
            }
        } catch {
            logger.error("mqtt off: the client cannot be set up", metadata: ["error": "\(error)"])
            try? await gracefulShutdown()
            return
        }
        logger.info("mqtt starting", metadata: ["host": "\(settings.host)", "port": "\(settings.port)", "client_id": "\(settings.clientID)", "prefix": "\(settings.topicPrefix)"])
        // The loop thread reports a lost connection here; the run loop hands it to the policy.
        let lost = Mutex<MQTTError?>(nil)
        let watcher = Task {
            for await state in client.states {
                if case .disconnected(let error?) = state {
                    lost.withLock { $0 = error }
                    outbox.mqttWakeup.signal()
                }
            }
        }
        defer { watcher.cancel() }
        let answering = Task { await answerCommands(commands, client: client) }
        let refusing = Task { await refuseCommands(overflow.stream, client: client) }
        defer {
            answering.cancel()
            refusing.cancel()
        }
        await cancelWhenGracefulShutdown {
            var policy = MQTTSinkPolicy()
            var nextTelemetry = Date()
            // What {prefix}/alarms/active last said on this connection (nil: say it again).
            var activeSaid: [UInt8]?
            while !Task.isCancelled {
                publishHealth(policy)
                let now = Date()
                if now >= nextTelemetry {
                    nextTelemetry = now + settings.telemetryInterval.mqttSeconds
                    // QoS 0 and only while connected: readings are dropped, never queued, while offline.
                    if policy.phase == .connected, let document = telemetry() {
                        do throws(MQTTError) {
                            try await client.publish(topic: settings.topic("telemetry"), payload: document, qos: .atMostOnce)
                        } catch {
                            report(&policy, error)
                            continue
                        }
                    }
                }
                // The retained current set, after the events that changed it (none pending), when it changed.
                if policy.phase == .connected, outbox.mqttDepth() == 0, let document = await activeAlarms(), document != activeSaid {
                    do throws(MQTTError) {
                        try await client.publish(topic: settings.topic("alarms/active"), payload: document, qos: .atLeastOnce, retain: true)
                        activeSaid = document
                    } catch {
                        report(&policy, error)
                        continue
                    }
                }
                if policy.phase == .connected, let error = lost.withLock({ state -> MQTTError? in defer { state = nil }; return state }) {
                    report(&policy, error)
                    continue
                }
                switch policy.next(now: now, hasPending: outbox.mqttDepth() > 0) {
                case .connect:
                    do throws(MQTTError) {
                        lost.withLock { $0 = nil }
                        try await client.connect()
                        policy.connected(now: Date())
                        activeSaid = nil
                        logger.notice("mqtt connected", metadata: ["host": "\(settings.host)", "queued": "\(outbox.mqttDepth())"])
                        try await client.publish(topic: settings.topic("status"), payload: statusDocument(online: true), qos: .atLeastOnce, retain: true)
                        if settings.homeAssistantDiscovery {
                            for (topic, document) in MQTTDocuments.homeAssistantDiscovery(deviceID: deviceID, settings: settings, version: version) {
                                try await client.publish(topic: topic, payload: document, qos: .atLeastOnce, retain: true)
                            }
                        }
                        // A clean session: the subscription is made again at every connect. Without accept_commands
                        // nothing subscribes at all, so the broker never delivers a request to this board.
                        if settings.acceptCommands { try await subscribeCommands(client, topic: commandTopic) }
                    } catch {
                        report(&policy, error)
                    }
                case .publishNext:
                    guard let event = try? outbox.pendingForMQTT(limit: 1).first else { continue }
                    do throws(MQTTError) {
                        try await client.publish(topic: settings.topic(event.topic), payload: [UInt8](event.payload), qos: .atLeastOnce)
                        do {
                            try outbox.markMQTTPublished(event.seq)
                        } catch {
                            // Published but not recorded: it goes out again later (a duplicate, never a loss).
                            logger.error("mqtt: recording a publish failed", metadata: ["error": "\(error)"])
                        }
                        policy.published(now: Date())
                    } catch {
                        report(&policy, error)
                    }
                case .wait(let until):
                    // No polling: asleep until an alarm event is queued (the outbox signals), the connection
                    // drops (the watcher signals), the next telemetry or the policy's next attempt.
                    let deadline = until.map { min($0, nextTelemetry) } ?? nextTelemetry
                    let pause = Duration.milliseconds(Int64(max(0, deadline.timeIntervalSinceNow) * 1000))
                    await outbox.mqttWakeup.wait(upTo: max(pause, .milliseconds(10)))
                }
            }
            // A clean DISCONNECT makes the broker discard the will: say offline ourselves first.
            if policy.phase == .connected {
                try? await client.publish(topic: settings.topic("status"), payload: statusDocument(online: false), qos: .atMostOnce, retain: true)
            }
        }
        await client.disconnect()
    }

    /// Subscribes to the command topic. A refusal (the broker's ACL) turns commands off for this connection with
    /// one log line and leaves the rest of the sink running: alarms must not stop because commands cannot start.
    private func subscribeCommands(_ client: MQTTClient, topic: String) async throws(MQTTError) {
        do throws(MQTTError) {
            try await client.subscribe(topic, qos: .atLeastOnce)
            logger.notice("mqtt accepting capture commands", metadata: ["topic": "\(topic)"])
        } catch where error.kind == .rejected {
            logger.error("mqtt commands off: the broker refused the subscription; check its ACL", metadata: ["topic": "\(topic)", "error": "\(error)"])
        }
    }

    /// Answers remote capture requests one at a time, in arrival order; the capture itself passes the control
    /// socket's gate, so it also waits for (and holds off) captures asked for on the socket.
    private func answerCommands(_ commands: AsyncStream<MQTTMessage>, client: MQTTClient) async {
        for await message in commands {
            let document: [UInt8]
            switch MQTTCaptureCommand.parse(message.payload, userProperties: message.userProperties.map { ($0.name, $0.value) }) {
            case .success(let command):
                document = await remoteCapture(command)
            case .failure(let rejection):
                logger.warning("mqtt capture request refused", metadata: [
                    "topic": "\(message.topic)", "requested_by": "\(rejection.requestedBy ?? "unknown")", "bytes": "\(message.payload.count)",
                    "code": "\(rejection.error.code)", "error": "\(rejection.error.message)",
                ])
                document = Array(ResponseLine.failure(id: rejection.id, rejection.error).dropLast())
            }
            await answer(document, client: client)
        }
    }

    /// Requests past the queue's limit: answered `busy` at once, never run.
    private func refuseCommands(_ refused: AsyncStream<MQTTMessage>, client: MQTTClient) async {
        for await message in refused {
            let parsed = MQTTCaptureCommand.parse(message.payload, userProperties: message.userProperties.map { ($0.name, $0.value) })
            let (id, requester) = switch parsed {
            case .success(let command): (command.id, command.requestedBy)
            case .failure(let rejection): (rejection.id, rejection.requestedBy)
            }
            logger.warning("mqtt capture request refused: too many waiting", metadata: ["requested_by": "\(requester ?? "unknown")", "waiting": "\(Self.commandQueueLimit)"])
            let error = ControlError(.busy, "\(Self.commandQueueLimit) capture requests are already waiting; try again shortly")
            await answer(Array(ResponseLine.failure(id: id, error).dropLast()), client: client)
        }
    }

    /// QoS 1, not retained: a result is for whoever waits for it now.
    private func answer(_ document: [UInt8], client: MQTTClient) async {
        do throws(MQTTError) {
            try await client.publish(topic: settings.topic("cmd/capture/result"), payload: document, qos: .atLeastOnce)
        } catch {
            // The capture ran (and left its audit line); only its answer is lost with the connection.
            logger.warning("mqtt capture result not delivered", metadata: ["error": "\(error)"])
        }
    }

    /// `ok` while connected; `connecting`, `disconnected` (reconnecting with backoff) or `paused` otherwise,
    /// which makes the daemon `degraded` but never stops the watchdog: MQTT is not a loop the board needs.
    private func publishHealth(_ policy: MQTTSinkPolicy) {
        let word = switch policy.phase {
        case .connected: "ok"
        case .connecting: "connecting"
        case .disconnected: "disconnected"
        case .paused: "paused"
        }
        var detail = ["broker": "\(settings.host):\(settings.port)", "queued": "\(outbox.mqttDepth())"]
        if let at = policy.lastPublishAt { detail["last_publish"] = ISO8601DateFormatter().string(from: at) }
        if let error = policy.lastError, policy.phase != .connected { detail["last_error"] = error }
        health.publish("mqtt", state: word, detail: detail)
    }

    private func report(_ policy: inout MQTTSinkPolicy, _ error: MQTTError) {
        switch policy.failed(error.description, authentication: error.isAuthenticationFailure, now: Date(), unit: Double.random(in: 0..<1)) {
        case .paused(let reason):
            logger.error("mqtt paused: TLS or authorisation failure; fix the certificates, key or broker policy, then reload", metadata: ["error": "\(reason)"])
        case .stillPaused:
            break
        case .retry(let wait):
            // Once per outage, not at every attempt of a long one.
            if policy.backoff.failures == 1 {
                logger.warning("mqtt disconnected; reconnecting with backoff", metadata: ["error": "\(error)", "retry_in": "\(wait)"])
            }
        }
    }
}

extension Duration {
    fileprivate var mqttSeconds: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension Daemon {
    /// The MQTT sink's supervisor: it runs the sink of the `mqtt:` section in force (none while it is absent)
    /// and applies a reload's changes to it.
    /// `changes` carries a reload's new `mqtt:` section; `dispatcher` is the control socket's, whose capture path
    /// (argument checks, one-at-a-time gate, audit line) remote captures take.
    func makeMQTTSupervisor(modelSet: ModelSet, monitor: Monitor, changes: AsyncStream<MQTTSettings?>, dispatcher: ControlDispatcher) -> MQTTSupervisor? {
        guard let queue = outbox.outbox else { return nil }
        let deviceID = configuration.deviceID
        let sensors = self.sensors
        return MQTTSupervisor(initial: configuration.mqtt, outbox: queue, changes: changes) { [health] mqtt in
            var service = MQTTService(settings: mqtt, outbox: queue, deviceID: deviceID, version: Self.version,
                                      modelSHA256: modelSet.classifier.modelSHA256, health: health, logger: Logger(label: "mqtt"))
            service.telemetry = {
                MQTTDocuments.telemetry(deviceID: deviceID, readings: sensors.latest(), sensors: sensors.statuses(), at: Date())
            }
            service.activeAlarms = {
                MQTTDocuments.activeAlarms(deviceID: deviceID, alarms: await monitor.activeAlarms)
            }
            service.remoteCapture = { command in
                // Who asked, as far as anyone can tell: the requester's own word (see MQTTCaptureCommand); the
                // broker's ACL on the command topic is what authorised it.
                var requester: Logger.Metadata = ["via": "mqtt", "requested_by": .string(command.requestedBy ?? "unknown"), "topic": .string(mqtt.topic("cmd/capture"))]
                if let id = command.id { requester["request"] = .stringConvertible(id) }
                return await dispatcher.remoteCapture(args: command.args, id: command.id, requester: requester)
            }
            return service
        }
    }
}

/// The JSON documents of `{prefix}/telemetry` and `{prefix}/alarms/active`: snake_case keys, ISO 8601 times.
enum MQTTDocuments {
    struct Telemetry: Encodable {
        var deviceId: String
        var at: Date
        /// Latest calibrated value of every metric, with its unit and sensor.
        var readings: [Reading]
        /// Every configured sensor's state (ok, absent, faulted...).
        var sensors: [SensorStatus]
    }

    struct Active: Encodable {
        var deviceId: String
        var alarms: [ActiveAlarmDocument]
    }

    struct ActiveAlarmDocument: Encodable {
        var id: String
        var kind: String
        var subject: String
        var severity: String
        var reason: String
        var raisedAt: Date
        var updatedAt: Date
    }

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    static func telemetry(deviceID: String, readings: [Reading], sensors: [SensorStatus], at: Date) -> [UInt8]? {
        guard !readings.isEmpty else { return nil }
        return (try? encoder().encode(Telemetry(deviceId: deviceID, at: at, readings: readings, sensors: sensors))).map { [UInt8]($0) }
    }

    static func activeAlarms(deviceID: String, alarms: [ActiveAlarm]) -> [UInt8]? {
        let documents = alarms.map {
            ActiveAlarmDocument(id: $0.id, kind: $0.kind.rawValue, subject: $0.subject, severity: $0.severity.rawValue, reason: $0.reason,
                                raisedAt: $0.raisedAt, updatedAt: $0.updatedAt)
        }
        return (try? encoder().encode(Active(deviceId: deviceID, alarms: documents))).map { [UInt8]($0) }
    }
}

extension MQTTDocuments {
    /// Home Assistant's MQTT discovery: one retained config per measured quantity and a "duct dirty" problem
    /// sensor, all tied to one device and available while `{prefix}/status` says online. Quantities without
    /// a Home Assistant device class (VOC and NOx index, PM4) go without one, as Home Assistant requires.
    static let homeAssistantSensors: [(metric: Metric, name: String, deviceClass: String?, unit: String?)] = [
        (.pm1_0, "PM1", "pm1", "µg/m³"), (.pm2_5, "PM2.5", "pm25", "µg/m³"), (.pm4_0, "PM4", nil, "µg/m³"), (.pm10, "PM10", "pm10", "µg/m³"),
        (.co2, "CO2", "carbon_dioxide", "ppm"), (.voc_index, "VOC index", nil, nil), (.nox_index, "NOx index", nil, nil),
        (.temperature, "Temperature", "temperature", "°C"), (.humidity, "Humidity", "humidity", "%"),
        (.pressure, "Pressure", "pressure", "hPa"), (.differential_pressure, "Filter differential pressure", "pressure", "Pa"),
    ]

    static func homeAssistantDiscovery(deviceID: String, settings: MQTTSettings, version: String) -> [(String, [UInt8])] {
        let availability = settings.topic("status")
        let device: [String: Any] = ["identifiers": ["remotair_\(deviceID)"], "name": "Remotair \(deviceID)", "manufacturer": "Remotair",
                                     "model": "duct monitor", "sw_version": version]
        var configs: [(String, [String: Any])] = []
        for sensor in homeAssistantSensors {
            var config: [String: Any] = [
                "name": sensor.name, "unique_id": "remotair_\(deviceID)_\(sensor.metric.rawValue)", "object_id": "remotair_\(deviceID)_\(sensor.metric.rawValue)",
                "state_topic": settings.topic("telemetry"), "state_class": "measurement",
                "value_template": "{{ (value_json.readings | selectattr('metric', 'equalto', '\(sensor.metric.rawValue)') | map(attribute='value') | list + [none]) | first }}",
            ]
            if let deviceClass = sensor.deviceClass { config["device_class"] = deviceClass }
            if let unit = sensor.unit { config["unit_of_measurement"] = unit }
            configs.append(("homeassistant/sensor/\(deviceID)/\(sensor.metric.rawValue)/config", config))
        }
        configs.append(("homeassistant/binary_sensor/\(deviceID)/duct_dirty/config", [
            "name": "Duct dirty", "unique_id": "remotair_\(deviceID)_duct_dirty", "object_id": "remotair_\(deviceID)_duct_dirty",
            "device_class": "problem", "state_topic": settings.topic("alarms/active"), "payload_on": "ON", "payload_off": "OFF",
            "value_template": "{{ 'ON' if value_json.alarms | selectattr('kind', 'equalto', 'duct_dirty') | list | length > 0 else 'OFF' }}",
        ]))
        return configs.compactMap { topic, config in
            var config = config
            config["device"] = device
            config["availability_topic"] = availability
            config["availability_template"] = "{{ value_json.state }}"
            config["payload_available"] = "online"
            config["payload_not_available"] = "offline"
            guard let data = try? JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]) else { return nil }
            return (topic, [UInt8](data))
        }
    }
}
