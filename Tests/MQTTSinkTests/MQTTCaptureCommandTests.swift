import ControlProtocol
import Foundation
import MQTTSink
import Testing

@Suite("MQTT capture command envelope")
struct MQTTCaptureCommandTests {
    func parse(_ text: String, _ properties: [(name: String, value: String)] = []) -> Result<MQTTCaptureCommand, MQTTCaptureCommand.Rejection> {
        MQTTCaptureCommand.parse(Array(text.utf8), userProperties: properties)
    }

    @Test("the socket's request line, cmd optional: id, args and requested_by are read, the arguments left to the dispatcher")
    func reads() throws {
        let command = try parse(#"{"id": 7, "args": {"camera": "upstream", "note": "filter check", "upload": false}, "requested_by": "alice"}"#).get()
        #expect(command.id == 7)
        #expect(command.args == ["camera": .string("upstream"), "note": .string("filter check"), "upload": .bool(false)])
        #expect(command.requestedBy == "alice")
        let socketLine = try parse(#"{"id": 8, "cmd": "capture", "args": {"camera": "nosuch"}}"#).get()
        #expect(socketLine.id == 8 && socketLine.args["camera"] == .string("nosuch") && socketLine.requestedBy == nil)
        #expect(try parse("{}").get() == MQTTCaptureCommand())
    }

    @Test("the MQTT 5 user property requested_by wins over the payload's field, and a long name is cut")
    func requester() throws {
        #expect(try parse(#"{"requested_by": "payload"}"#, [("other", "x"), ("requested_by", "property")]).get().requestedBy == "property")
        let long = String(repeating: "a", count: 500)
        let clipped = try parse("{\"requested_by\": \"\(long)\"}").get().requestedBy
        #expect(clipped?.count == MQTTCaptureCommand.maxRequesterLength + 3)
    }

    @Test("malformed payloads are rejected with a bad_request or too_large error, the id and requester kept where readable")
    func rejects() {
        func rejection(_ text: String, _ properties: [(name: String, value: String)] = []) -> MQTTCaptureCommand.Rejection? {
            if case .failure(let rejection) = parse(text, properties) { return rejection }
            return nil
        }
        #expect(rejection("not json")?.error.code == .badRequest)
        #expect(rejection("not json", [("requested_by", "bob")])?.requestedBy == "bob")
        #expect(rejection("[1, 2]")?.error.message == "a request is a JSON object, not an array")
        #expect(rejection(#"{"id": "seven"}"#)?.error.message == "id must be an integer, not a string")
        let wrongCommand = rejection(#"{"id": 3, "cmd": "reload", "requested_by": "eve"}"#)
        #expect(wrongCommand?.id == 3 && wrongCommand?.requestedBy == "eve" && wrongCommand?.error.code == .badRequest)
        #expect(wrongCommand?.error.message.contains("\"reload\"") == true)
        #expect(rejection(#"{"id": 4, "args": ["upstream"]}"#)?.error.message == "args must be an object, not an array")
        let oversized = "{\"note\": \"" + String(repeating: "x", count: MQTTCaptureCommand.maxPayloadBytes) + "\"}"
        #expect(rejection(oversized)?.error.code == .tooLarge)
        // Bytes that are not UTF-8 at all.
        if case .failure(let rejection) = MQTTCaptureCommand.parse([0xFF, 0xFE, 0x00]) {
            #expect(rejection.error.code == .badRequest)
        } else {
            Issue.record("binary garbage was accepted")
        }
    }
}
