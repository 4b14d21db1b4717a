/// Control characters (Unicode's Cc: C0, DEL and C1): refused in an identifier that reaches
/// the state (SQLite's and GRDB's text reads stop at a NUL, so a host `H1\0x` would read
/// back as `H1` and pass for it), escaped in text output and log lines.
public enum ControlCharacters {
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// Over UTF-8 bytes, valid as a `String`'s are: there C1 is 0xC2 followed by 0x80...0x9F.
    public static func present(in bytes: some Sequence<UInt8>) -> Bool {
        var previous: UInt8 = 0
        for byte in bytes {
            if isControl(byte, after: previous) { return true }
            previous = byte
        }
        return false
    }

    /// Whether `byte` is or ends a control character, `previous` being the byte before it.
    @inlinable
    public static func isControl(_ byte: UInt8, after previous: UInt8) -> Bool {
        byte < 0x20 || byte == 0x7F || (previous == 0xC2 && (0x80...0x9F).contains(byte))
    }
}
