import Foundation

/// Runs a child process and collects its output; used to test the executables end to end.
///
/// Each pipe is read by a thread of its own until end of file, which then closes the read end. Foundation's
/// `readabilityHandler` kept the pipes' descriptors open for as long as the test process lived (4 per child): a full
/// `swift test` run that starts hundreds of children (openssl for every broker, remotaird, remotairctl) went past
/// 1,024 descriptors.
public final class ChildProcess: @unchecked Sendable {
    public let process = Process()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    private let lock = NSLock()
    private var stdoutData = Data()
    private var stderrData = Data()
    /// Readers that have not reached end of file yet.
    private var openReaders = 0

    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
    }

    public func start() throws {
        try process.run()
        // Process.run closed the parent's copies of the write ends: end of file comes when the child exits.
        drain(stdoutPipe.fileHandleForReading) { child, chunk in child.stdoutData.append(chunk) }
        drain(stderrPipe.fileHandleForReading) { child, chunk in child.stderrData.append(chunk) }
    }

    /// Reads `handle` on a thread of its own (plain read(2): it returns what is there, so output is visible while the
    /// child runs) and closes it at end of file. The thread keeps `self` alive until then.
    private func drain(_ handle: FileHandle, _ append: @escaping @Sendable (ChildProcess, Data) -> Void) {
        lock.withLock { openReaders += 1 }
        Thread.detachNewThread { [self] in
            let fd = handle.fileDescriptor
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                let chunk = Data(buffer[0..<count])
                lock.withLock { append(self, chunk) }
            }
            try? handle.close()
            lock.withLock { openReaders -= 1 }
        }
    }

    public var stdout: String { lock.withLock { String(decoding: stdoutData, as: UTF8.self) } }
    public var stderr: String { lock.withLock { String(decoding: stderrData, as: UTF8.self) } }

    /// Waits up to `timeout` for the process to exit; returns its status, or nil if it is still running.
    public func wait(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        await readersFinished()
        return process.terminationStatus
    }

    /// Lets the readers take what is left in the pipes once the child has exited; bounded, since a grandchild that
    /// inherited a pipe keeps it open.
    private func readersFinished() async {
        let deadline = ContinuousClock.now + .seconds(2)
        while lock.withLock({ openReaders }) > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Waits until stderr contains `text`, up to `timeout`.
    public func waitForStderr(_ text: String, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if stderr.contains(text) { return true }
            if !process.isRunning {
                await readersFinished()
                return stderr.contains(text)
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Runs to completion and returns (status, stdout, stderr).
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, timeout: Duration = .seconds(60)) async throws -> (Int32, String, String) {
        let child = ChildProcess(executable, arguments, environment: environment)
        try child.start()
        guard let status = await child.wait(timeout: timeout) else {
            child.signal(SIGKILL)
            return (-1, child.stdout, child.stderr)
        }
        return (status, child.stdout, child.stderr)
    }
}
