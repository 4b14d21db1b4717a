import Foundation

/// Expands `$NAME` and `${NAME}` in a YAML value from the environment (docs/contract.md §1).
///
/// An unset variable is an error, never an empty string; `\$` is a literal dollar sign;
/// `FLEET_VAR_*` is left as written because those variables belong to the profiles and
/// are filled per host by the server.
public struct EnvironmentExpander: Sendable {
    public enum Problem: Sendable, Hashable {
        case unset(name: String)
        /// `${` without a closing brace or with a name that is not an identifier.
        case malformed(text: String)
    }

    public struct Result: Sendable, Hashable {
        public var value: String
        /// Whether any variable was substituted: a secret that came from the environment
        /// was not written in the repo.
        public var substituted: Bool
        public var problems: [Problem]
    }

    public static let reservedPrefix = "FLEET_VAR_"

    private let environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    /// Worked on UTF-8 bytes: every character the syntax uses is ASCII, and no byte of a
    /// multi-byte character is, so text is only ever cut between characters.
    public func expand(_ text: String) -> Result {
        var contiguous = text
        return contiguous.withUTF8 { bytes in
            guard let base = bytes.baseAddress, memchr(base, Int32(UInt8(ascii: "$")), bytes.count) != nil else {
                return Result(value: text, substituted: false, problems: [])
            }
            return expand(bytes)
        }
    }

    private func expand(_ bytes: UnsafeBufferPointer<UInt8>) -> Result {
        func text(_ range: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 64)
        var problems: [Problem] = []
        var substituted = false
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\\"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "$") {
                out.append(UInt8(ascii: "$"))
                i += 2
                continue
            }
            guard c == UInt8(ascii: "$"), i + 1 < bytes.count else {
                out.append(c)
                i += 1
                continue
            }
            let next = bytes[i + 1]
            if next == UInt8(ascii: "{") {
                guard let close = bytes[(i + 2)...].firstIndex(of: UInt8(ascii: "}")) else {
                    problems.append(.malformed(text: text(i..<bytes.count)))
                    break
                }
                let name = text((i + 2)..<close)
                let whole = i..<(close + 1)
                i = close + 1
                guard Self.isIdentifier(name) else {
                    problems.append(.malformed(text: text(whole)))
                    continue
                }
                resolve(name, written: bytes[whole], into: &out, substituted: &substituted, problems: &problems)
            } else if Self.isIdentifierStart(Unicode.Scalar(next)) {
                var end = i + 1
                while end < bytes.count, Self.isIdentifierPart(Unicode.Scalar(bytes[end])) { end += 1 }
                let name = text((i + 1)..<end)
                let whole = i..<end
                i = end
                resolve(name, written: bytes[whole], into: &out, substituted: &substituted, problems: &problems)
            } else {
                out.append(c)
                i += 1
            }
        }
        return Result(value: String(decoding: out, as: UTF8.self), substituted: substituted, problems: problems)
    }

    private func resolve(
        _ name: String, written: Slice<UnsafeBufferPointer<UInt8>>, into out: inout [UInt8], substituted: inout Bool,
        problems: inout [Problem]
    ) {
        if name.hasPrefix(Self.reservedPrefix) {
            out.append(contentsOf: written)
        } else if let value = environment[name] {
            out.append(contentsOf: value.utf8)
            substituted = true
        } else {
            problems.append(.unset(name: name))
        }
    }

    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, isIdentifierStart(first) else { return false }
        return name.unicodeScalars.allSatisfy(isIdentifierPart)
    }

    static func isIdentifierStart(_ c: Unicode.Scalar) -> Bool {
        c == "_" || ("A"..."Z").contains(c) || ("a"..."z").contains(c)
    }

    static func isIdentifierPart(_ c: Unicode.Scalar) -> Bool {
        isIdentifierStart(c) || ("0"..."9").contains(c)
    }
}
