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

    /// Descriptors still open after `body` that were not before it and that `matching` accepts (by their target),
    /// waiting up to `settle` for asynchronous closes (event loops, dispatch sources). Repeat the body so that a leak
    /// (at least one per cycle) stands out from what a runtime opens once on first use. Tests of other suites may open
    /// descriptors meanwhile in a parallel run: `matching` narrows the count to what the component under test opens
    /// (its files, its sockets' names, /dev/null), so that their descriptors are not taken for its leak.
    public static func leaked(matching: (String) -> Bool = { _ in true }, settle: Duration = .seconds(2),
                              _ body: () async throws -> Void) async rethrows -> [String] {
        let baseline = snapshot()
        try await body()
        let deadline = ContinuousClock.now + settle
        func extra() -> [String] {
            snapshot().filter { baseline[$0.key] != $0.value && matching($0.value) }.sorted { $0.key < $1.key }.map { "\($0.key) -> \($0.value)" }
        }
        var found = extra()
        while !found.isEmpty && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
            found = extra()
        }
        return found
    }

    /// `socket:[inode]` targets of the Unix sockets bound to a path containing `fragment` (from /proc/net/unix, which
    /// also lists the connections a listener accepted under its path, and keeps the name after the file is removed).
    public static func unixSockets(boundTo fragment: String) -> Set<String> {
        guard let table = try? String(contentsOfFile: "/proc/net/unix", encoding: .utf8) else { return [] }
        var result: Set<String> = []
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // Num RefCount Protocol Flags Type St Inode [Path]
            guard fields.count >= 8, fields[7].contains(fragment) else { continue }
            result.insert("socket:[\(fields[6])]")
        }
        return result
    }
}
