import Glibc
import I2C
import Testing

@Suite struct LinuxI2CBusTests {
    @Test func missingBusIsBusMissing() {
        #expect {
            _ = try LinuxI2CBus(path: "/dev/i2c-does-not-exist")
        } throws: { error in
            (error as? I2CError)?.kind == .busMissing && (error as? I2CError)?.errno == ENOENT
        }
    }

    @Test func nonI2CDeviceIsRefusedAtOpen() {
        // /dev/null opens but answers I2C_FUNCS with ENOTTY.
        #expect {
            _ = try LinuxI2CBus(path: "/dev/null")
        } throws: { error in
            let error = error as? I2CError
            return error?.kind == .busMissing && error?.call == "ioctl(I2C_FUNCS)"
        }
    }

    @Test func errnoMapping() {
        for code in [ENXIO, EREMOTEIO, EIO, ETIMEDOUT] {
            #expect(LinuxI2CBus.mapError(errno: code, bus: "/dev/i2c-1", address: 0x62, call: "x").kind == .notResponding)
        }
        let busy = LinuxI2CBus.mapError(errno: EBUSY, bus: "/dev/i2c-1", address: 0x62, call: "ioctl(I2C_SLAVE)")
        #expect(busy.kind == .busy)
        #expect(busy.hint?.contains("echo 1-0062 > /sys/bus/i2c/drivers/") == true)
        let unsupported = LinuxI2CBus.mapError(errno: EOPNOTSUPP, bus: "/dev/i2c-0", address: 0x76, call: "read")
        #expect(unsupported.kind == .unsupported)
        #expect(unsupported.description.contains("adapter does not support plain I2C transfers"))
        #expect(LinuxI2CBus.mapError(errno: EINVAL, bus: "b", address: 1, call: "x").kind == .invalidRequest)
        #expect(LinuxI2CBus.mapError(errno: ENODEV, bus: "b", address: 1, call: "x").kind == .busMissing)
    }
}
