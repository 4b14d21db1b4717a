/// One finding about the config repo: an error blocks plan and apply, a warning does not.
///
/// Diagnostics are values, not thrown errors: a run collects all of them and reports them
/// together. A message never contains a secret value.
public struct Diagnostic: Sendable, Hashable {
    public enum Severity: String, Sendable, Hashable, Codable {
        case error
        case warning
    }

    public var severity: Severity
    public var code: DiagnosticCode
    /// Repo-relative path of the file, or nil for a finding about the repo as a whole.
    public var file: String?
    public var position: SourcePosition?
    public var message: String

    public init(
        _ severity: Severity, _ code: DiagnosticCode, file: String?, at position: SourcePosition? = nil,
        _ message: String
    ) {
        self.severity = severity
        self.code = code
        self.file = file
        self.position = position
        self.message = message
    }

    public static func error(
        _ code: DiagnosticCode, file: String?, at position: SourcePosition? = nil, _ message: String
    ) -> Diagnostic {
        Diagnostic(.error, code, file: file, at: position, message)
    }

    public static func warning(
        _ code: DiagnosticCode, file: String?, at position: SourcePosition? = nil, _ message: String
    ) -> Diagnostic {
        Diagnostic(.warning, code, file: file, at: position, message)
    }
}

extension Diagnostic: Comparable {
    /// Sorted by file, then position, then code: output is deterministic whatever order
    /// the files were read in.
    public static func < (lhs: Diagnostic, rhs: Diagnostic) -> Bool {
        let l = (lhs.file ?? "", lhs.position?.line ?? 0, lhs.position?.column ?? 0, lhs.code.rawValue, lhs.message)
        let r = (rhs.file ?? "", rhs.position?.line ?? 0, rhs.position?.column ?? 0, rhs.code.rawValue, rhs.message)
        return l < r
    }
}

extension Array where Element == Diagnostic {
    public var hasErrors: Bool { contains { $0.severity == .error } }
    public var errorCount: Int { count { $0.severity == .error } }
    public var warningCount: Int { count { $0.severity == .warning } }
}

extension Diagnostic {
    /// Findings shown for one file before the rest are counted instead.
    public static let perFileLimit = 50

    /// At most `perFile` findings per file, in the order given; the rest of a
    /// file's findings become one line that counts them, so that one hostile file cannot
    /// fill the output. The cut keeps errors: a file with errors still fails.
    public static func capped(_ diagnostics: [Diagnostic], perFile: Int) -> [Diagnostic] {
        var shown: [String: Int] = [:]
        var hidden: [String: (count: Int, errors: Bool)] = [:]
        var kept: [Diagnostic] = []
        for diagnostic in diagnostics {
            let file = diagnostic.file ?? ""
            if shown[file, default: 0] < perFile {
                shown[file, default: 0] += 1
                kept.append(diagnostic)
            } else {
                let before = hidden[file] ?? (0, false)
                hidden[file] = (before.count + 1, before.errors || diagnostic.severity == .error)
            }
        }
        for (file, rest) in hidden.sorted(by: { $0.key < $1.key }) {
            let message = "\(rest.count) more finding(s) in this file are not shown"
            kept.append(
                rest.errors
                    ? .error(.tooManyFindings, file: file.isEmpty ? nil : file, message)
                    : .warning(.tooManyFindings, file: file.isEmpty ? nil : file, message))
        }
        return kept
    }
}
