import Foundation
import Testing
import Timestamps

/// UTCTime replaces Foundation's ICU-backed formatters in the daemon; Foundation stays the reference here.
@Suite struct UTCTimeTests {
    /// Epoch, leap days, the 2038 boundary, a century that is not a leap year, negative times, year 9999.
    static let moments: [Double] = [
        0, 951_782_400, 951_868_799.999, 1_078_012_800.5, 2_147_483_647, 2_147_483_648.25,
        4_107_542_400, 4_107_628_800, 1_764_303_433.123456, -1, -86_400.75, 253_402_300_799,
    ]

    @Test(arguments: moments)
    func extendedMatchesFoundation(_ seconds: Double) {
        let date = Date(timeIntervalSince1970: seconds)
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        #expect(UTCTime(date).extended() == formatter.string(from: date))
        #expect(UTCTime(date).description == formatter.string(from: date))
    }

    @Test(arguments: moments)
    func fieldsMatchFoundationsGregorianCalendar(_ seconds: Double) throws {
        let date = Date(timeIntervalSince1970: seconds)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let time = UTCTime(date)
        #expect([time.year, time.month, time.day, time.hour, time.minute, time.second]
            == [parts.year, parts.month, parts.day, parts.hour, parts.minute, parts.second].map { $0 ?? -1 })
    }

    @Test func fractionsAreTruncatedNotRounded() {
        // .9996 s must not round up into the next second (or minute, here).
        let time = UTCTime(Date(timeIntervalSince1970: 1_764_303_599.9996))
        #expect(time.extended(fractionDigits: 3) == "2025-11-28T04:19:59.999Z")
        #expect(time.extended(fractionDigits: 6, zone: false) == "2025-11-28T04:19:59.999599")
        #expect(time.basic() == "20251128T041959Z")
        #expect(time.basic(fractionDigits: 3, zone: false) == "20251128T041959.999")
        #expect(time.date(separator: "/") == "2025/11/28")
        #expect(time.date(separator: "") == "20251128")
    }

    @Test func negativeFractionsCountForwardFromTheEarlierSecond() {
        // -0.25 s is 1969-12-31T23:59:59.750Z.
        #expect(UTCTime(Date(timeIntervalSince1970: -0.25)).extended(fractionDigits: 3) == "1969-12-31T23:59:59.750Z")
    }

    @Test func datesOutsideFourDigitYearsAreClampedNotTrapped() {
        #expect(UTCTime(Date(timeIntervalSince1970: 1e18)).extended() == "9999-12-31T23:59:59Z")
        #expect(UTCTime(Date(timeIntervalSince1970: -1e18)).extended() == "0001-01-01T00:00:00Z")
        #expect(UTCTime(Date(timeIntervalSince1970: .nan)).extended() == "1970-01-01T00:00:00Z")
    }
}
