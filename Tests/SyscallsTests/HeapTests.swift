#if canImport(Glibc)
import CMalloc
import Foundation
import Syscalls
import Testing

@Suite struct HeapTests {
    /// The setting's point: large blocks that are freed leave the process. Run in a child process, since
    /// glibc's threshold is process-wide state that earlier tests have moved.
    @Test func freedLargeBlocksLeaveTheProcess() async {
        await #expect(processExitsWith: .success) {
            guard Heap.mapLargeBlocksSeparately() else { exit(2) }
            exit(HeapTests.kilobytesKeptAfterChurn() < 2048 ? EXIT_SUCCESS : EXIT_FAILURE)
        }
    }

    /// The control: with glibc's own adaptive threshold the same churn keeps ~10 MB resident, so the
    /// measurement above can fail.
    @Test func glibcsAdaptiveThresholdKeepsThem() async {
        await #expect(processExitsWith: .exitCode(EXIT_FAILURE)) {
            exit(HeapTests.kilobytesKeptAfterChurn() < 2048 ? EXIT_SUCCESS : EXIT_FAILURE)
        }
    }

    @Test func refusesThresholdsTheCLibraryCannotTake() {
        #expect(!Heap.mapLargeBlocksSeparately(from: 0))
        #expect(!Heap.mapLargeBlocksSeparately(from: Int(Int32.max) + 1))
    }

    /// A freed 1 MiB block (glibc then serves smaller blocks from the heap), then 50 blocks of 200 KiB
    /// written and freed while one allocated after them stays live (so the heap top cannot be trimmed).
    /// Returns how much anonymous memory the process kept, in kB.
    static func kilobytesKeptAfterChurn() -> Int {
        let blockSize = 200 * 1024
        if let big = malloc(1 << 20) { memset(big, 1, 1 << 20); free(big) }
        let before = residentAnonymousKilobytes()
        var blocks: [UnsafeMutableRawPointer] = []
        blocks.reserveCapacity(50)
        for _ in 0..<50 {
            guard let block = malloc(blockSize) else { exit(3) }
            memset(block, 1, blockSize)
            blocks.append(block)
        }
        let last = malloc(blockSize)
        if let last { memset(last, 1, blockSize) }
        blocks.forEach { free($0) }
        let kept = residentAnonymousKilobytes() - before
        free(last)
        return kept
    }

    /// RssAnon from /proc/self/status.
    static func residentAnonymousKilobytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { exit(4) }
        for line in status.split(separator: "\n") where line.hasPrefix("RssAnon:") {
            if let value = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first, let kilobytes = Int(value) {
                return kilobytes
            }
        }
        exit(4)
    }
}
#endif
