/// Lowercase hexadecimal, as fingerprints, digests and push tokens are written. A table
/// lookup per nibble: `String(format:)` per byte is slow in Foundation on Linux, and
/// every signed MDM request takes a fingerprint.
public enum Hex {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits: StaticString = "0123456789abcdef"
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        digits.withUTF8Buffer { digits in
            for byte in bytes {
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
