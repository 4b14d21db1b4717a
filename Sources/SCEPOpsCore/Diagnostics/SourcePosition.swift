/// A 1-based line and column in a source file, as editors and compilers count them.
public struct SourcePosition: Sendable, Hashable, Comparable {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public static func < (lhs: SourcePosition, rhs: SourcePosition) -> Bool {
        (lhs.line, lhs.column) < (rhs.line, rhs.column)
    }
}

extension SourcePosition {
    /// The line and (Unicode scalar) column of a byte offset in UTF-8 text. Parsers keep
    /// offsets and count lines only here, when a diagnostic names one.
    public init(offset: Int, in bytes: [UInt8]) {
        let end = min(max(offset, 0), bytes.count)
        var line = 1
        var column = 1
        bytes.withUnsafeBufferPointer { buffer in
            var lineStart = 0
            for i in 0..<end where buffer[i] == 0x0A {
                line += 1
                lineStart = i + 1
            }
            for i in lineStart..<end where buffer[i] & 0xC0 != 0x80 { column += 1 }
        }
        self.init(line: line, column: column)
    }
}

/// A value read from a source file together with where it was written.
public struct Located<Value: Sendable>: Sendable {
    public var value: Value
    public var position: SourcePosition?

    public init(_ value: Value, at position: SourcePosition?) {
        self.value = value
        self.position = position
    }
}

extension Located: Equatable where Value: Equatable {}
extension Located: Hashable where Value: Hashable {}
