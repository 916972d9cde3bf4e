import ControlProtocol
import Foundation
import Testing

@Suite("ControlRequest parsing")
struct ControlRequestTests {
    func parse(_ text: String) -> Result<ControlRequest, ControlRequest.Rejection> {
        ControlRequest.parse(Array(text.utf8))
    }

    @Test("a full request; unknown fields are ignored")
    func fullRequest() throws {
        let request = try parse(#"{"id": 7, "cmd": "capture", "args": {"camera": "upstream", "future": [1]}, "trace": "x"}"#).get()
        #expect(request == ControlRequest(id: 7, cmd: "capture", args: ["camera": .string("upstream"), "future": .array([.number(1)])]))
    }

    @Test("id and args are optional")
    func minimal() throws {
        #expect(try parse(#"{"cmd":"status"}"#).get() == ControlRequest(id: nil, cmd: "status"))
        #expect(try parse(#"{"cmd":"status","args":null,"id":null}"#).get() == ControlRequest(id: nil, cmd: "status"))
    }

    @Test("malformed requests are named bad_request, with the id when it could be read",
          arguments: [
              (#"{"id": 7, "cmd": "#, nil, "not valid JSON"),
              (#"[1, 2]"#, nil, "a request is a JSON object, not an array"),
              (#""status""#, nil, "a request is a JSON object, not a string"),
              (#"{"id": "seven", "cmd": "status"}"#, nil, "id must be an integer, not a string"),
              (#"{"id": 1.5, "cmd": "status"}"#, nil, "id must be an integer, not a number"),
              (#"{"id": 3}"#, 3, "missing \"cmd\""),
              (#"{"id": 4, "cmd": 12}"#, 4, "cmd must be a string, not a number"),
              (#"{"id": 5, "cmd": "capture", "args": [1]}"#, 5, "args must be an object, not an array"),
              ("\u{FF}\u{FE}", nil, "not valid JSON"),
          ] as [(String, Int?, String)])
    func rejections(input: String, id: Int?, message: String) throws {
        guard case .failure(let rejection) = parse(input) else {
            Issue.record("accepted \(input)")
            return
        }
        #expect(rejection.id == id)
        #expect(rejection.error.code == .badRequest)
        #expect(rejection.error.message.hasPrefix(message), "\(rejection.error.message)")
    }

    /// Bounded mutation test: thousands of mutants of valid requests (bytes flipped, inserted, deleted,
    /// truncated, spliced; deep nesting) must each parse or be rejected with bad_request, never trap.
    /// The seed is fixed so a failure reproduces; the mutant count bounds the run time.
    @Test("mutated requests never trap and are answered")
    func mutation() {
        let seeds = [
            #"{"id": 7, "cmd": "capture", "args": {"camera": "upstream", "upload": false, "note": "after cleaning"}}"#,
            #"{"id": 1, "cmd": "calibrate-co2", "args": {"ppm": 420}}"#,
            #"{"cmd":"status"}"#,
            #"{"id": -9007199254740993, "cmd": "\u00e9\ud83d\ude00", "args": {"a": [null, true, 1e308, -0.0, "\\"]}}"#,
        ].map { Array($0.utf8) }
        let alphabet: [UInt8] = Array(#"{}[]":,\-0123456789.eE+truefalsnl "#.utf8) + [0x00, 0x0A, 0x80, 0xC3, 0xFF, 0xED, 0xA0]
        var random = SplitMix64(seed: 0x5EED_CAFE)
        var accepted = 0
        var rejected = 0
        for _ in 0..<20_000 {
            var bytes = seeds[Int(random.next() % UInt64(seeds.count))]
            for _ in 0...(random.next() % 4) {
                let position = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count))
                let byte = alphabet[Int(random.next() % UInt64(alphabet.count))]
                switch random.next() % 6 {
                case 0 where !bytes.isEmpty: bytes[position] = byte
                case 1: bytes.insert(byte, at: position)
                case 2 where !bytes.isEmpty: bytes.remove(at: position)
                case 3: bytes = Array(bytes.prefix(position))
                case 4:
                    let other = seeds[Int(random.next() % UInt64(seeds.count))]
                    bytes = Array(bytes.prefix(position)) + other.suffix(Int(random.next() % UInt64(other.count)))
                default: bytes[position...].reverse()
                }
            }
            switch ControlRequest.parse(bytes) {
            case .success: accepted += 1
            case .failure(let rejection):
                rejected += 1
                if rejection.error.code != .badRequest { Issue.record("unexpected code \(rejection.error.code)") }
            }
        }
        #expect(accepted > 100 && rejected > 100, "accepted \(accepted), rejected \(rejected)")

        // Nesting far deeper than any request: rejected, not a stack overflow.
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect((try? parse(#"{"cmd":"status","args":{"x":\#(deep)}}"#).get()) == nil)
    }
}

/// A small deterministic generator (SplitMix64), so mutation runs reproduce.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476C_1D1C_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
