import FieldTools
import Synchronization

/// A `ToolContext` that keeps what a command prints, so tests read it in-process.
final class RecordingContext: Sendable {
    private let lines = Mutex<(output: [String], errors: [String])>(([], []))
    let environment: [String: String]

    init(environment: [String: String] = [:]) {
        self.environment = environment
    }

    var context: ToolContext {
        ToolContext(output: { line in self.lines.withLock { $0.output.append(line) } },
                    errorOutput: { line in self.lines.withLock { $0.errors.append(line) } },
                    environment: environment)
    }

    var output: [String] { lines.withLock { $0.output } }
    var errors: [String] { lines.withLock { $0.errors } }
    var stderr: String { errors.joined(separator: "\n") }
}
