import ControlProtocol

/// Lets one manual capture run at a time: a second request waits for the first to finish and then
/// runs its own (first come, first served), so two captures never interleave on the cameras.
actor CaptureGate {
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func run<T: Sendable>(_ body: @Sendable () async throws(ControlError) -> T) async throws(ControlError) -> T {
        if busy {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            busy = true
        }
        defer { handOver() }
        return try await body()
    }

    /// Passes the gate to the next waiter, or opens it.
    private func handOver() {
        if waiting.isEmpty {
            busy = false
        } else {
            waiting.removeFirst().resume()
        }
    }
}
