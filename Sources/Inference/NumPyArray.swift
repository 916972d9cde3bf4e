/// A float32 C-order NumPy array read from a `.npy` file (format versions 1 to 3), parsed strictly:
/// any other dtype, Fortran order, a malformed header or a data size that does not match the shape
/// is an error naming the problem.
public struct NumPyArray: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        self.shape = shape
        self.values = values
    }

    public init(bytes: [UInt8]) throws(InferenceError) {
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw .npy("not a .npy file (bad magic)") }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw .npy("truncated header") }
            headerLength = (8..<12).reduce(0) { $0 | Int(bytes[$1]) << (8 * ($1 - 8)) }
            headerStart = 12
        default: throw .npy("unsupported format version \(major)")
        }
        guard headerLength <= 65_536, headerStart + headerLength <= bytes.count else { throw .npy("truncated header") }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        var parser = HeaderParser(text: Array(header.unicodeScalars))
        let fields = try parser.parseDictionary()
        guard Set(fields.keys) == ["descr", "fortran_order", "shape"] else {
            throw .npy("header keys \(fields.keys.sorted()) are not descr, fortran_order, shape")
        }
        guard case .string(let descr)? = fields["descr"], descr == "<f4" else {
            throw .npy("dtype \(fields["descr"].map { "\($0)" } ?? "?") is not little-endian float32 ('<f4')")
        }
        guard case .bool(false)? = fields["fortran_order"] else { throw .npy("Fortran-order arrays are not supported") }
        guard case .tuple(let dims)? = fields["shape"] else { throw .npy("shape is not a tuple") }
        var count = 1
        for dim in dims {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard dim >= 0, !overflow, product <= 1 << 28 else { throw .npy("shape \(dims) is too large") }
            count = product
        }
        let dataStart = headerStart + headerLength
        guard bytes.count - dataStart == count * 4 else {
            throw .npy("data has \(bytes.count - dataStart) bytes, shape \(dims) needs \(count * 4)")
        }
        var values = [Float](repeating: 0, count: count)
        for index in 0..<count {
            let base = dataStart + index * 4
            let word = UInt32(bytes[base]) | UInt32(bytes[base + 1]) << 8 | UInt32(bytes[base + 2]) << 16 | UInt32(bytes[base + 3]) << 24
            values[index] = Float(bitPattern: word)
        }
        shape = dims
        self.values = values
    }

    /// Serialises as a version 1.0 `.npy` file.
    public var bytes: [UInt8] {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(dims), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
        out += Array(header.utf8)
        for value in values {
            let word = value.bitPattern
            out += [UInt8(word & 0xFF), UInt8(word >> 8 & 0xFF), UInt8(word >> 16 & 0xFF), UInt8(word >> 24)]
        }
        return out
    }
}

/// The Python-literal subset a .npy header uses: a dict of str keys to str, bool or int tuples.
private struct HeaderParser {
    enum Value: Equatable { case string(String), bool(Bool), tuple([Int]) }
    let text: [Unicode.Scalar]
    var index = 0

    init(text: [Unicode.Scalar]) { self.text = text }

    mutating func skipSpace() { while index < text.count, text[index] == " " || text[index] == "\n" { index += 1 } }

    mutating func expect(_ character: Unicode.Scalar) throws(InferenceError) {
        skipSpace()
        guard index < text.count, text[index] == character else { throw .npy("malformed header: expected '\(character)' at \(index)") }
        index += 1
    }

    mutating func peek() -> Unicode.Scalar? {
        skipSpace()
        return index < text.count ? text[index] : nil
    }

    mutating func parseString() throws(InferenceError) -> String {
        try expect("'")
        var result = ""
        while index < text.count, text[index] != "'" {
            result.unicodeScalars.append(text[index])
            index += 1
        }
        try expect("'")
        return result
    }

    mutating func parseValue() throws(InferenceError) -> Value {
        switch peek() {
        case "'": return .string(try parseString())
        case "(":
            index += 1
            var dims: [Int] = []
            while peek() != ")" {
                var digits = ""
                while index < text.count, ("0"..."9").contains(text[index]) {
                    digits.unicodeScalars.append(text[index])
                    index += 1
                }
                guard let dim = Int(digits), digits.count <= 10 else { throw .npy("malformed shape") }
                dims.append(dim)
                if peek() == "," { index += 1 } else { break }
            }
            try expect(")")
            return .tuple(dims)
        default:
            for (word, value) in [("True", true), ("False", false)] where text.count - index >= word.count {
                if String(String.UnicodeScalarView(text[index..<(index + word.count)])) == word {
                    index += word.count
                    return .bool(value)
                }
            }
            throw .npy("malformed header value at \(index)")
        }
    }

    mutating func parseDictionary() throws(InferenceError) -> [String: Value] {
        try expect("{")
        var result: [String: Value] = [:]
        while peek() != "}" {
            let key = try parseString()
            try expect(":")
            guard result[key] == nil else { throw .npy("duplicate key \(key)") }
            result[key] = try parseValue()
            if peek() == "," { index += 1 } else { break }
        }
        try expect("}")
        skipSpace()
        guard index == text.count else { throw .npy("trailing characters after the header dictionary") }
        return result
    }
}
