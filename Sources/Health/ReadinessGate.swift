import Synchronization

/// Start-up is complete only when everything a client may use is in place (the control socket bound,
/// recovery done). Services `open()` the gate they own; the systemd service waits for all of them before
/// sending `READY=1`.
public final class ReadinessGate: Sendable {
    private struct State {
        var pending: Set<String>
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    /// - Parameter parts: the names that must open before the daemon counts as ready.
    public init(waitingFor parts: [String]) {
        state = Mutex(State(pending: Set(parts)))
    }

    /// Marks one part ready.
    public func open(_ part: String) {
        let resumed: [CheckedContinuation<Void, Never>] = state.withLock { state in
            state.pending.remove(part)
            guard state.pending.isEmpty else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in resumed { waiter.resume() }
    }

    /// Parts still missing.
    public var pending: [String] { state.withLock { $0.pending.sorted() } }

    /// Returns once every part is open, or when the task is cancelled.
    public func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.pending.isEmpty || Task.isCancelled { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let resumed = state.withLock { state in
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in resumed { waiter.resume() }
        }
    }
}
