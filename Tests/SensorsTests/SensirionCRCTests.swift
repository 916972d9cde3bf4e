import Sensors
import Testing

@Suite struct SensirionCRCTests {
    // Check values from the Sensirion datasheets (CRC example 0xBEEF -> 0x92) and vendor drivers.
    @Test(arguments: [
        (UInt16(0xBEEF), UInt8(0x92)), (0x0000, 0x81), (0x8000, 0xA2), (0x6666, 0x93), (0x0300, 0xAC), (0x0500, 0xF6), (0xFFFF, 0xAC),
    ])
    func checkValues(word: UInt16, crc: UInt8) {
        #expect(SensirionCRC.crc(word) == crc)
    }

    @Test func decodeRejectsBadCRCAndLength() {
        #expect(SensirionCRC.decode([0xBE, 0xEF, 0x92, 0x00, 0x00, 0x81]) == .success([0xBEEF, 0x0000]))
        #expect(SensirionCRC.decode([0xBE, 0xEF, 0x92, 0x00, 0x00, 0x80]) == .failure(.crc(word: 1)))
        #expect(SensirionCRC.decode([0xBE, 0xEF]) == .failure(.length(2)))
    }

    @Test func commandFrames() {
        // SPS30 start_measurement in float mode, as printed in the datasheet.
        #expect(SensirionTransport.frame(command: 0x0010, arguments: [0x0300]) == [0x00, 0x10, 0x03, 0x00, 0xAC])
        // SGP41 measure_raw_signals without compensation (defaults RH 50 %, 25 degC).
        #expect(SensirionTransport.frame(command: 0x2619, arguments: [0x8000, 0x6666]) == [0x26, 0x19, 0x80, 0x00, 0xA2, 0x66, 0x66, 0x93])
    }
}
