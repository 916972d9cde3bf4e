import I2C
import TestSupport
import Testing

/// The i2c-dev descriptor on the error path: a node that is not an I2C adapter is opened, refused at I2C_FUNCS, and
/// must be closed again (the sensor supervisor retries this for as long as the bus is wrong).
@Suite("I2C bus descriptors", .serialized)
struct LinuxI2CBusDescriptorTests {
    @Test("20 refused opens of a node that is not an adapter leave no descriptor behind")
    func refusedOpens() async throws {
        let cycles = 20
        let leaked = await OpenDescriptors.leaked(matching: { $0 == "/dev/null" }) {
            for _ in 0..<cycles {
                #expect(throws: I2CError.self) { _ = try LinuxI2CBus(path: "/dev/null") }
            }
        }
        #expect(leaked.count < cycles, "\(leaked)")
    }
}
