/// Aligned columns for terminal output: a header row, two spaces between columns, numbers right-aligned.
/// Widths count characters, so units such as `°C` line up.
public struct TextTable {
    public enum Alignment { case left, right }

    public struct Column {
        public var title: String
        public var alignment: Alignment

        public init(_ title: String, _ alignment: Alignment = .left) {
            self.title = title
            self.alignment = alignment
        }
    }

    /// A cell's text and the colour it gets on a terminal (colour codes do not count towards widths).
    public struct Cell: ExpressibleByStringLiteral {
        public var text: String
        public var colour: Colour?

        public init(_ text: String, colour: Colour? = nil) {
            self.text = text
            self.colour = colour
        }

        public init(stringLiteral value: String) { self.init(value) }
    }

    public var columns: [Column]
    public var rows: [[Cell]] = []

    public init(_ columns: [Column]) {
        self.columns = columns
    }

    public mutating func add(_ row: [Cell]) {
        rows.append(row)
    }

    public func render(style: TerminalStyle) -> String {
        var widths = columns.map(\.title.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.text.count)
            }
        }
        var lines = [line(columns.map { Cell($0.title) }, widths: widths, style: style, header: true)]
        lines += rows.map { line($0, widths: widths, style: style, header: false) }
        return lines.joined(separator: "\n") + "\n"
    }

    private func line(_ cells: [Cell], widths: [Int], style: TerminalStyle, header: Bool) -> String {
        var parts: [String] = []
        for (index, cell) in cells.enumerated() where index < columns.count {
            let padding = String(repeating: " ", count: widths[index] - cell.text.count)
            let text = header ? style.bold(cell.text) : style.paint(cell.text, cell.colour)
            let isLast = index == cells.count - 1
            switch columns[index].alignment {
            case .left: parts.append(isLast ? text : text + padding)
            case .right: parts.append(padding + text)
            }
        }
        // No trailing blanks when the last cells are empty.
        var line = parts.joined(separator: "  ")
        while line.last == " " { line.removeLast() }
        return line
    }
}

/// Terminal colours used for state words.
public enum Colour: String, Sendable {
    case green = "32"
    case yellow = "33"
    case red = "31"
}

/// Whether output gets ANSI colour: only on a terminal, and never when NO_COLOR is set.
public struct TerminalStyle: Sendable {
    public var colour: Bool

    public init(colour: Bool) {
        self.colour = colour
    }

    public static let plain = TerminalStyle(colour: false)

    public func paint(_ text: String, _ colour: Colour?) -> String {
        guard self.colour, let colour else { return text }
        return "\u{1B}[\(colour.rawValue)m\(text)\u{1B}[0m"
    }

    public func bold(_ text: String) -> String {
        colour ? "\u{1B}[1m\(text)\u{1B}[0m" : text
    }

    /// Green for healthy words, yellow for degraded ones, red for failures.
    public static func colour(forState word: String) -> Colour? {
        switch word {
        case "ok", "clean", "running", "uploaded", "ready": .green
        case "failed", "failing", "error", "critical", "dirty", "offline", "stalled": .red
        case "": nil
        default: .yellow
        }
    }
}
