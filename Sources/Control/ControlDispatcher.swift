import ControlProtocol
import Foundation
import Logging
import Timestamps

/// Turns a parsed request into a response line: checks the command and its arguments, calls the
/// backend, logs state-changing commands with the peer's credentials and audits manual captures, those asked
/// for on the MQTT command topic too (`remoteCapture`).
public struct ControlDispatcher: Sendable {
    let backend: any ControlBackend
    let allowCO2Calibration: Bool
    let logger: Logger
    let captureGate = CaptureGate()

    /// The reference range the SCD4x accepts for forced recalibration (shared with remotairctl).
    public static let calibrationRange = CO2Calibration.referenceRange

    public init(backend: any ControlBackend, allowCO2Calibration: Bool, logger: Logger) {
        self.backend = backend
        self.allowCO2Calibration = allowCO2Calibration
        self.logger = logger
    }

    /// Answers one request; never throws, every failure is a named error in the response.
    public func respond(to request: ControlRequest, from peer: PeerCredentials) async -> [UInt8] {
        guard let command = ControlCommand(rawValue: request.cmd) else {
            let known = ControlCommand.allCases.map(\.rawValue).joined(separator: ", ")
            return ResponseLine.failure(id: request.id, ControlError(.unknownCommand, "unknown command '\(Self.clip(request.cmd))'; known: \(known)"))
        }
        if command.changesState {
            logger.notice("\(command.rawValue) requested", metadata: Self.metadata(peer, id: request.id))
        }
        do {
            return try await run(command, request, peer)
        } catch {
            if command.changesState {
                logger.warning("\(command.rawValue) failed", metadata: Self.metadata(peer, id: request.id).merging([
                    "code": .string(error.code.rawValue), "error": .string(error.message),
                ]) { $1 })
            }
            return ResponseLine.failure(id: request.id, error)
        }
    }

    private func run(_ command: ControlCommand, _ request: ControlRequest, _ peer: PeerCredentials) async throws(ControlError) -> [UInt8] {
        let id = request.id
        switch command {
        case .status: return ResponseLine.success(id: id, try await backend.status())
        case .sensors: return ResponseLine.success(id: id, try await backend.sensors())
        case .alarms: return ResponseLine.success(id: id, try await backend.alarms())
        case .outbox: return ResponseLine.success(id: id, try await backend.outbox())
        case .outboxFlush: return ResponseLine.success(id: id, try await backend.outboxFlush())
        case .reload: return ResponseLine.success(id: id, try await backend.reload())
        case .version: return ResponseLine.success(id: id, try await backend.version())
        case .model: return ResponseLine.success(id: id, try await modelBackend().model())
        case .modelRollback: return ResponseLine.success(id: id, try await modelRollback(peer: peer))
        case .capture:
            let arguments = try Self.captureArguments(request.args)
            return ResponseLine.success(id: id, try await capture(arguments, requester: Self.metadata(peer, id: nil)))
        case .calibrateCO2:
            guard allowCO2Calibration else {
                throw ControlError(.notAllowed, "CO2 calibration is disabled; set control.allow_co2_calibration: true to allow it")
            }
            let ppm = try Self.ppmArgument(request.args)
            let result = try await backend.calibrateCO2(ppm: ppm)
            logger.notice("co2 calibrated", metadata: Self.metadata(peer, id: id).merging([
                "reference_ppm": .stringConvertible(ppm), "correction_ppm": .stringConvertible(result.correctionPPM),
            ]) { $1 })
            return ResponseLine.success(id: id, result)
        }
    }

    private func modelBackend() throws(ControlError) -> any ModelControlBackend {
        guard let models = backend as? any ModelControlBackend else { throw ControlError(.notAvailable, "this daemon has no model updates") }
        return models
    }

    /// Rolls back and writes the audit line, like a manual capture: who, when, from which model to which.
    private func modelRollback(peer: PeerCredentials) async throws(ControlError) -> ModelResult {
        var audit = Self.metadata(peer, id: nil)
        audit["at"] = .string(UTCTime(Date()).extended())
        let models = try modelBackend()
        let before = try? await models.model()
        do {
            let result = try await models.modelRollback()
            audit["from"] = .string(before?.current?.version ?? "none")
            audit["to"] = .string(result.current?.version ?? "none")
            audit["sha256"] = .string(result.current?.sha256 ?? "")
            logger.notice("audit: model rollback", metadata: audit)
            return result
        } catch {
            audit["outcome"] = .string(error.code.rawValue)
            logger.notice("audit: model rollback", metadata: audit)
            throw error
        }
    }

    /// A capture asked for elsewhere than on this socket (the MQTT command topic, issue 19): the socket's argument
    /// checks, the same gate (socket and remote captures run one at a time, in arrival order), the same backend
    /// call and the same `capture requested` and `audit: manual capture` lines, with `requester` (who asked, as
    /// the transport knows it) in place of the peer's uid, gid and pid. Answers the socket's response line
    /// without its newline; never throws.
    public func remoteCapture(args: [String: JSONValue], id: Int?, requester: Logger.Metadata) async -> [UInt8] {
        logger.notice("\(ControlCommand.capture.rawValue) requested", metadata: requester)
        var line: [UInt8]
        do {
            let arguments = try Self.captureArguments(args)
            line = ResponseLine.success(id: id, try await capture(arguments, requester: requester))
        } catch {
            logger.warning("\(ControlCommand.capture.rawValue) failed", metadata: requester.merging([
                "code": .string(error.code.rawValue), "error": .string(error.message),
            ]) { $1 })
            line = ResponseLine.failure(id: id, error)
        }
        if line.last == UInt8(ascii: "\n") { line.removeLast() }
        return line
    }

    /// Runs a manual capture behind the gate and writes the audit line: who (`requester`), when, what came out.
    private func capture(_ request: CaptureRequest, requester: Logger.Metadata) async throws(ControlError) -> CaptureResult {
        let backend = self.backend
        let started = Date()
        var audit = requester
        audit["at"] = .string(UTCTime(started).extended())
        audit["camera"] = .string(request.camera ?? "all")
        audit["upload"] = .stringConvertible(request.upload)
        if let note = request.note { audit["note"] = .string(note) }
        do {
            let result = try await captureGate.run { () async throws(ControlError) -> CaptureResult in
                try await backend.capture(camera: request.camera, upload: request.upload, note: request.note)
            }
            audit["result"] = .string(result.cameras.map { camera in
                "\(camera.name):\(camera.label ?? camera.error?.code.rawValue ?? "none")"
            }.joined(separator: ","))
            audit["snapshots"] = .string(result.cameras.compactMap(\.snapshotID).joined(separator: ","))
            logger.notice("audit: manual capture", metadata: audit)
            return result
        } catch {
            audit["result"] = .string("error:\(error.code.rawValue)")
            logger.notice("audit: manual capture", metadata: audit)
            throw error
        }
    }

    // MARK: - Argument validation

    static func captureArguments(_ args: [String: JSONValue]) throws(ControlError) -> CaptureRequest {
        var request = CaptureRequest()
        switch args["camera"] {
        case nil, .null?:
            break
        case .string(let name)?:
            guard !name.isEmpty, name.count <= 64 else {
                throw ControlError(.badRequest, "args.camera must be a camera name of 1 to 64 characters, or \"all\"")
            }
            request.camera = name == "all" ? nil : name
        case let other?:
            throw ControlError(.badRequest, "args.camera must be a string, not \(other.typeName)")
        }
        switch args["upload"] {
        case nil, .null?:
            break
        case .bool(let upload)?:
            request.upload = upload
        case let other?:
            throw ControlError(.badRequest, "args.upload must be true or false, not \(other.typeName)")
        }
        switch args["note"] {
        case nil, .null?:
            break
        case .string(let note)?:
            guard note.count <= CaptureRequest.maxNoteLength else {
                throw ControlError(.badRequest, "args.note is \(note.count) characters; at most \(CaptureRequest.maxNoteLength) are kept")
            }
            request.note = note.isEmpty ? nil : note
        case let other?:
            throw ControlError(.badRequest, "args.note must be a string, not \(other.typeName)")
        }
        return request
    }

    static func ppmArgument(_ args: [String: JSONValue]) throws(ControlError) -> Int {
        guard let value = args["ppm"] else {
            throw ControlError(.badRequest, "args.ppm is required: the reference CO2 concentration in ppm")
        }
        guard let ppm = value.integer else {
            throw ControlError(.badRequest, "args.ppm must be an integer, not \(value.typeName)")
        }
        guard calibrationRange.contains(ppm) else {
            throw ControlError(.badRequest, "args.ppm \(ppm) is outside \(calibrationRange.lowerBound)...\(calibrationRange.upperBound)")
        }
        return ppm
    }

    static func metadata(_ peer: PeerCredentials, id: Int?) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "uid": .stringConvertible(peer.uid), "gid": .stringConvertible(peer.gid), "pid": .stringConvertible(peer.pid),
        ]
        if let id { metadata["request"] = .stringConvertible(id) }
        return metadata
    }

    /// Keeps an echoed client string short in error messages.
    static func clip(_ text: String) -> String {
        text.count <= 40 ? text : String(text.prefix(40)) + "..."
    }
}
