import Settings
import TestSupport
import Testing
import V4L2
@testable import Vision

/// The real V4L2 back-end on a node that opens but is not a video device, as when a configuration names the wrong
/// node: libv4l2 refuses it at v4l2_fd_open (QUERYCAP fails), and the camera supervisor retries such a camera with
/// backoff for weeks, so each refused open must close the descriptor open(2) gave.
@Suite("device node descriptors", .serialized)
struct DeviceNodeDescriptorTests {
    @Test("20 opens of a camera on a node that is not a V4L2 device leave no descriptor behind")
    func cameraOnWrongNode() async throws {
        let settings = CameraSettings(name: "upstream", device: "/dev/null")
        let cycles = 20
        let leaked = try await OpenDescriptors.leaked(matching: { $0 == "/dev/null" }) {
            for _ in 0..<cycles {
                let camera = try V4L2Camera(settings: settings, device: { LinuxVideoDevice(path: $0) })
                await #expect(throws: CameraError.self) { try await camera.open() }
                #expect(await !camera.isOpen)
            }
        }
        #expect(leaked.count < cycles, "\(leaked)")
    }
}
