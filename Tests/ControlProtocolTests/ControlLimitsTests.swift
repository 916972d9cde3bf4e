import ControlProtocol
import Foundation
import Testing

@Suite("control protocol limits and backward compatibility")
struct ControlLimitsTests {
    @Test("the CO2 reference range is the SCD4x's 400...2000 ppm")
    func co2Range() {
        #expect(CO2Calibration.referenceRange == 400...2000)
    }

    @Test("the default socket is the runtime directory's control.sock")
    func socketPath() {
        #expect(ControlSocketPath.defaultPath == ControlSocketPath.defaultRuntimeDirectory + "/" + ControlSocketPath.fileName)
    }
}
