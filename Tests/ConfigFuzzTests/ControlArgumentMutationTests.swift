import Control
import ControlProtocol
import Foundation
import Logging
import Testing

/// The control socket's side of the same fuzz: every argument of every command, and the request id,
/// given each hostile JSON value, goes through the parser and the dispatcher as a daemon would take it.
/// These already held (JSON numbers are Doubles, integers are range-checked before conversion); this
/// keeps them holding: each answer is one JSON line with a named error, never a trap.
@Suite("Control argument mutation fuzz")
struct ControlArgumentMutationTests {
    /// Past 64 bits, at the edges of Int64 and of a Double's exact integers, not numbers, wrong types.
    static let hostileValues = [
        "99999999999999999999", "9223372036854775807", "-9223372036854775808", "9007199254740993", "-1", "0", "1.5",
        "1e309", "-1e309", "1e300", "-0", "[]", "{}", "\"\"", "null", "true", "\"\(String(repeating: "x", count: 70_000))\"",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    ]
    static let arguments = ["camera", "upload", "note", "ppm"]

    @Test("every command and argument, made hostile: one JSON line with a named error, never a trap")
    func dispatcherNeverTraps() async throws {
        // Refusals of state-changing commands are logged as warnings: thousands of lines nobody reads here.
        let logger = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
        let dispatcher = ControlDispatcher(backend: RefusingBackend(), allowCO2Calibration: true, logger: logger)
        let peer = PeerCredentials(pid: 1, uid: 0, gid: 0)
        var lines: [String] = []
        for command in ControlCommand.allCases {
            for value in Self.hostileValues {
                lines.append(#"{"id":\#(value),"cmd":"\#(command.rawValue)"}"#)
                for argument in Self.arguments {
                    lines.append(#"{"id":1,"cmd":"\#(command.rawValue)","args":{"\#(argument)":\#(value)}}"#)
                }
            }
        }
        var badRequests = 0
        for line in lines {
            let what = String(line.prefix(120))
            switch ControlRequest.parse(Array(line.utf8)) {
            case .failure(let rejection):
                #expect(rejection.error.code == .badRequest, "\(what): \(rejection.error)")
                badRequests += 1
            case .success(let request):
                let answer = await dispatcher.respond(to: request, from: peer)
                #expect(answer.last == UInt8(ascii: "\n") && !answer.dropLast().contains(UInt8(ascii: "\n")), "\(what): not one line")
                let response = try #require(try JSONSerialization.jsonObject(with: Data(answer)) as? [String: Any], "\(what)")
                // The backend refuses whatever reaches it, so every answer is an error.
                #expect(response["ok"] as? Bool == false, "\(what): \(response)")
                let code = (response["error"] as? [String: Any])?["code"] as? String
                #expect(code == "bad_request" || code == "not_available", "\(what): \(response)")
                if code == "bad_request" { badRequests += 1 }
            }
        }
        // The hostile ids and ppm values (and every wrong type for camera, upload, note) are refused by name.
        #expect(badRequests > lines.count / 3)
    }
}

/// Refuses every command: arguments are checked before the backend is called, which is what is fuzzed.
private struct RefusingBackend: ControlBackend {
    private var refusal: ControlError { ControlError(.notAvailable, "refused by the fuzz backend") }
    func status() async throws(ControlError) -> StatusResult { throw refusal }
    func sensors() async throws(ControlError) -> SensorsResult { throw refusal }
    func capture(camera: String?, upload: Bool, note: String?) async throws(ControlError) -> CaptureResult { throw refusal }
    func alarms() async throws(ControlError) -> AlarmsResult { throw refusal }
    func outbox() async throws(ControlError) -> OutboxResult { throw refusal }
    func outboxFlush() async throws(ControlError) -> OutboxFlushResult { throw refusal }
    func reload() async throws(ControlError) -> ReloadResult { throw refusal }
    func calibrateCO2(ppm: Int) async throws(ControlError) -> CalibrationResult { throw refusal }
    func version() async throws(ControlError) -> VersionResult { throw refusal }
}
