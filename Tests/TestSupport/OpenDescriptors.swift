import Foundation

/// The test process's open file descriptors, from /proc/self/fd: leak tests open and close a component many times and
/// expect the count to come back to where it started.
public enum OpenDescriptors {
    /// What each descriptor points at (`socket:[123]`, `pipe:[45]`, `anon_inode:[eventfd]`, a path), by number.
    public static func snapshot() -> [Int32: String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        var result: [Int32: String] = [:]
        for entry in entries {
            guard let fd = Int32(entry), let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + entry) else {
                continue  // the descriptor listing the folder itself is gone by now
            }
            result[fd] = target
        }
        return result
    }

    /// Descriptors open now that were not in `baseline`, as "fd -> target" lines (empty when nothing leaked).
    public static func opened(since baseline: [Int32: String]) -> [String] {
        snapshot().filter { baseline[$0.key] != $0.value }.sorted { $0.key < $1.key }.map { "\($0.key) -> \($0.value)" }
    }

    /// Descriptors still open after `body` that were not before it, waiting up to `settle` for asynchronous closes
    /// (event loops, dispatch sources). Other tests of the process may open descriptors meanwhile: run it in an exit
    /// test, and repeat the body so that a leak (at least one per cycle) stands out from descriptors a runtime opens
    /// once on first use (NIO's and Dispatch's threads).
    public static func leaked(settle: Duration = .seconds(2), _ body: () async throws -> Void) async rethrows -> [String] {
        let baseline = snapshot()
        try await body()
        let deadline = ContinuousClock.now + settle
        var extra = opened(since: baseline)
        while !extra.isEmpty && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
            extra = opened(since: baseline)
        }
        return extra
    }
}

extension OpenDescriptors {
    /// For the body of an exit test (`#expect(processExitsWith: .success)`), which runs alone in a child process where
    /// no other test opens descriptors meanwhile: prints the leaked descriptors and exits with status 1 when at least
    /// one was lost per cycle.
    public static func exitIfLeaked(_ leaked: [String], cycles: Int) {
        guard leaked.count >= cycles else { return }
        FileHandle.standardError.write(Data("\(leaked.count) descriptors left after \(cycles) cycles:\n\(leaked.joined(separator: "\n"))\n".utf8))
        exit(1)
    }
}
