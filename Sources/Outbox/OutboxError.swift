import Foundation

/// Why the outbox refused or failed an operation.
public struct OutboxError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable {
        /// The item is malformed (empty JSON, a JPEG where none belongs, too large, duplicate id).
        case invalidItem
        /// The disk budget is full of items that rank above this one.
        case budgetFull
        /// The filesystem's free space is below the configured floor for this kind.
        case belowFreeSpaceFloor
        /// A file or database operation failed.
        case io
        /// The outbox was closed (shutdown).
        case closed
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "outbox: \(code.rawValue): \(message)" }
}
