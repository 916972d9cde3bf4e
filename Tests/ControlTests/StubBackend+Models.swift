import Control
import ControlProtocol

/// Model bundles (issue 22): a board on the canary channel that activated one bundle over another and refused a third.
extension StubBackend: ModelControlBackend {
    static let modelResult = ModelResult(
        enabled: true, channel: "canary",
        current: .init(version: "2026.12.8", sha256: "716ebe358b024b267b5d0b8ddfd2eb818513a5be4c3fa0ad0e13a0a4726311db",
                       activatedAt: "2026-12-07T15:14:19Z", channel: "canary"),
        previous: .init(version: "2026.11.27-bf2f9b5e", sha256: "0c1f6e1fbd6bbd0a4c0e7a1fd0e1b16b39d0e7c3ab5b9b3e7f4b0f9f2d5b6a11",
                        activatedAt: "2026-12-01T09:00:00Z", channel: "canary"),
        lastCheck: "2026-12-07T15:20:00Z", lastCheckResult: "refused 2026.12.10",
        lastRefusal: .init(version: "2026.12.10", reason: "file-digest", detail: "duct-classifier.onnx: expected 716e..., got f371...",
                           at: "2026-12-07T15:14:55Z"))

    func model() async throws(ControlError) -> ModelResult { Self.modelResult }

    func modelRollback() async throws(ControlError) -> ModelResult {
        var result = Self.modelResult
        (result.current, result.previous) = (result.previous, result.current)
        return result
    }
}
