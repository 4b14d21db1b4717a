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

    public func expand(_ text: String) -> Result {
        guard text.utf8.contains(UInt8(ascii: "$")) else {
            return Result(value: text, substituted: false, problems: [])
        }
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var problems: [Problem] = []
        var substituted = false
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            if c == "\\", i + 1 < scalars.count, scalars[i + 1] == "$" {
                out.append("$")
                i += 2
                continue
            }
            guard c == "$", i + 1 < scalars.count else {
                out.append(c)
                i += 1
                continue
            }
            let next = scalars[i + 1]
            if next == "{" {
                guard let close = scalars[(i + 2)...].firstIndex(of: "}") else {
                    problems.append(.malformed(text: String(String.UnicodeScalarView(scalars[i...]))))
                    break
                }
                let name = String(String.UnicodeScalarView(scalars[(i + 2)..<close]))
                let whole = String(String.UnicodeScalarView(scalars[i...close]))
                i = close + 1
                guard Self.isIdentifier(name) else {
                    problems.append(.malformed(text: whole))
                    continue
                }
                resolve(name, written: whole, into: &out, substituted: &substituted, problems: &problems)
            } else if Self.isIdentifierStart(next) {
                var end = i + 1
                while end < scalars.count, Self.isIdentifierPart(scalars[end]) { end += 1 }
                let name = String(String.UnicodeScalarView(scalars[(i + 1)..<end]))
                let whole = String(String.UnicodeScalarView(scalars[i..<end]))
                i = end
                resolve(name, written: whole, into: &out, substituted: &substituted, problems: &problems)
            } else {
                out.append(c)
                i += 1
            }
        }
        return Result(value: String(out), substituted: substituted, problems: problems)
    }

    private func resolve(
        _ name: String, written: String, into out: inout String.UnicodeScalarView, substituted: inout Bool,
        problems: inout [Problem]
    ) {
        if name.hasPrefix(Self.reservedPrefix) {
            out.append(contentsOf: written.unicodeScalars)
        } else if let value = environment[name] {
            out.append(contentsOf: value.unicodeScalars)
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
