import Synchronization

/// A level-triggered wake-up flag: `signal()` sets it, `wait(upTo:)` returns as soon as it is set (and clears it)
/// or when the time is up. A waiter sleeps on a continuation and one timer for its own deadline: an idle upload
/// worker wakes once a minute, not every 20 ms as when this polled (issue 20).
public final class Wakeup: Sendable {
    private struct State {
        var signalled = false
        /// Waits in progress; the continuation is nil until the waiter has parked.
        var waiters: [UInt64: CheckedContinuation<Bool, Never>?] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func signal() {
        // Wake every parked waiter; keep the flag for a waiter that has not parked yet, or the next one.
        let parked: [CheckedContinuation<Bool, Never>] = state.withLock { state in
            let parked = state.waiters.values.compactMap { $0 }
            state.waiters = state.waiters.filter { $0.value == nil }
            // A waiter about to park (or none at all) finds the flag set.
            if parked.isEmpty || !state.waiters.isEmpty { state.signalled = true }
            return parked
        }
        for continuation in parked { continuation.resume(returning: true) }
    }

    /// Returns true when woken by a signal, false on timeout or cancellation.
    @discardableResult
    public func wait(upTo timeout: Duration) async -> Bool {
        let id: UInt64? = state.withLock { state in
            if state.signalled {
                state.signalled = false
                return nil
            }
            state.nextID &+= 1
            state.waiters[state.nextID] = .some(nil)
            return state.nextID
        }
        guard let id else { return true }
        guard timeout > .zero, !Task.isCancelled else {
            finish(id)
            return false
        }
        let timer = Task { [self] in
            // Cancelled when the wait ends first; either way the entry is gone afterwards.
            try? await Task.sleep(for: timeout)
            finish(id)
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let early: Bool? = state.withLock { state in
                    if state.signalled {
                        state.signalled = false
                        state.waiters[id] = nil
                        return true
                    }
                    // Timed out or cancelled before parking.
                    guard state.waiters[id] != nil else { return false }
                    state.waiters[id] = continuation
                    return nil
                }
                if let early { continuation.resume(returning: early) }
            }
        } onCancel: {
            finish(id)
        }
    }

    /// Ends wait `id` without a signal (timeout, cancellation); a no-op when it already ended.
    private func finish(_ id: UInt64) {
        let parked = state.withLock { state in state.waiters.removeValue(forKey: id) }
        if case .some(.some(let continuation)) = parked { continuation.resume(returning: false) }
    }
}
