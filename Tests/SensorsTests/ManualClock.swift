import Foundation
import Sensors
import Synchronization

/// A clock for service tests: `sleep` suspends until the test advances time past the sleeper's deadline.
/// `advance` wakes sleepers in deadline order and waits until the woken tasks are asleep again, so a test sees
/// every runner step at its exact simulated time, without real waiting and without races.
final class ManualClock: SensorClock {
    private struct Sleeper { var id: Int; var deadline: Duration; var continuation: CheckedContinuation<Void, Never> }
    private struct State { var now: Duration = .zero; var sleepers: [Sleeper] = []; var nextID = 0; var sleeps = 0 }
    private let state = Mutex(State())
    private let start = Date(timeIntervalSince1970: 1_800_000_000)

    func now() -> Duration { state.withLock { $0.now } }

    func date() -> Date { start.addingTimeInterval(now().seconds) }

    func sleep(for duration: Duration) async {
        let id = state.withLock { state -> Int in
            state.sleeps += 1
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if Task.isCancelled { return true }
                    state.sleepers.append(Sleeper(id: id, deadline: state.now + max(duration, .zero), continuation: continuation))
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            sleeper?.continuation.resume()
        }
    }

    var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// How many times anyone slept on the clock: each sleep is a timer, and a thread wake-up, on a real clock.
    var sleepCount: Int { state.withLock { $0.sleeps } }

    /// Waits (in real time, briefly) until at least `count()` tasks sleep on this clock.
    func waitForSleepers(_ count: () -> Int) async {
        for _ in 0..<20_000 {
            if sleeperCount >= count() { return }
            try? await Task.sleep(for: .microseconds(200))
        }
    }

    /// Advances time by `duration`, waking sleepers in deadline order; `sleepers` is how many tasks sleep on the
    /// clock once the system under test has nothing to do until the clock moves (asked again after each wake-up).
    func advance(by duration: Duration, sleepers: Int) async {
        await advance(by: duration, sleepers: { sleepers })
    }

    func advance(by duration: Duration, sleepers: () -> Int) async {
        await waitForSleepers(sleepers)
        let target = now() + duration
        while true {
            let due = state.withLock { state -> [Sleeper] in
                guard let earliest = state.sleepers.map(\.deadline).min(), earliest <= target else { return [] }
                state.now = max(state.now, earliest)
                let due = state.sleepers.filter { $0.deadline <= earliest }
                state.sleepers.removeAll { $0.deadline <= earliest }
                return due
            }
            if due.isEmpty { break }
            for sleeper in due { sleeper.continuation.resume() }
            await waitForSleepers(sleepers)
        }
        state.withLock { $0.now = target }
    }
}
