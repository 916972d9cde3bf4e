import FieldTools
import Foundation
import Testing

@Suite("JSON text and the /proc parser")
struct JSONTextTests {
    @Test func stringsRoundTripThroughAJSONParser() throws {
        for text in ["plain", "quote \" and \\ backslash", "line\nbreak\ttab\r", "\u{01}\u{1F}\u{08}\u{0C}", "é ü 日本 🙂", "/a/b.jpg"] {
            let literal = JSONText.string(text)
            let parsed = try JSONSerialization.jsonObject(with: Data(literal.utf8), options: [.fragmentsAllowed]) as? String
            #expect(parsed == text, "\(literal)")
        }
        #expect(JSONText.string("a\u{1F}b") == "\"a\\u001fb\"")
        #expect(JSONText.string("/x") == "\"/x\"")
    }

    @Test func numbers() {
        #expect(JSONText.number(0.123456789, decimals: 6) == "0.123457")
        #expect(JSONText.number(.nan, decimals: 2) == "null")
        #expect(JSONText.number(-.infinity, decimals: 2) == "null")
        #expect(JSONText.fixed(0.12345, decimals: 4) == "0.1235")
        #expect(JSONText.fixed(2, decimals: 1) == "2.0")
        #expect(JSONText.fixed(-0.00001, decimals: 3) == "0.000")
        #expect(JSONText.fixed(-1.25, decimals: 1) == "-1.3")
        #expect(JSONText.fixed(1.05, decimals: 0) == "1")
    }

    @Test func memoryReportReadsTheFieldsInProcOrder() {
        let status = """
            Name:\tremotaird
            VmPeak:\t  300000 kB
            VmHWM:\t   21504 kB
            VmRSS:\t   20100 kB
            RssAnon:\t    6000 kB
            RssFile:\t   14100 kB
            RssShmem:\t       0 kB
            Threads:\t4
            broken line
            VmHWM
            """
        #expect(MemoryReport.line(procStatus: status) == "memory: VmHWM=21504 VmRSS=20100 RssAnon=6000 RssFile=14100 (kB)")
        #expect(MemoryReport.line(procStatus: "") == "memory:  (kB)")
    }
}
