import Foundation

/// What `scepops validate` reports, rendered as text or as versioned JSON. Rendering is
/// kept apart from validating: the same result can be shown either way.
public struct ValidationReport: Sendable {
    public var source: ConfigSource
    public var diagnostics: [Diagnostic]
    public var state: DesiredState?

    public init(source: ConfigSource, result: ConfigValidator.Result) {
        self.source = source
        self.diagnostics = result.diagnostics
        self.state = result.state
    }

    public var isValid: Bool { !diagnostics.hasErrors }

    /// `path:line:col: severity[code]: message`, one line a finding, then a summary.
    public func text() -> String {
        var lines = diagnostics.map(Self.line)
        let counts = "\(plural(diagnostics.errorCount, "error")), \(plural(diagnostics.warningCount, "warning"))"
        if let state, isValid {
            lines.append(
                "\(describe(source)): valid: \(plural(state.certificateAuthorities.count, "certificate authority", "certificate authorities")), \(plural(state.teams.count, "team")), \(plural(state.profiles.count, "profile")); \(counts)"
            )
        } else {
            lines.append("\(describe(source)): invalid: \(counts)")
        }
        return TextLines.render(lines)
    }

    public static func line(_ diagnostic: Diagnostic) -> String {
        var location = diagnostic.file ?? "scepops"
        if let position = diagnostic.position { location += ":\(position.line):\(position.column)" }
        return "\(location): \(diagnostic.severity.rawValue)[\(diagnostic.code.rawValue)]: \(diagnostic.message)"
    }

    public func json() -> String {
        let document = JSONDocument(
            formatVersion: "1", valid: isValid, source: PlanDocument.Source(source),
            summary: state.map {
                .init(
                    certificateAuthorities: $0.certificateAuthorities.count, teams: $0.teams.count,
                    profiles: $0.profiles.count)
            },
            errorCount: diagnostics.errorCount, warningCount: diagnostics.warningCount,
            diagnostics: diagnostics.map(JSONDiagnostic.init))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(document)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    private func describe(_ source: ConfigSource) -> String {
        switch source.kind {
        case .commit:
            return "\(source.repository) at \(source.ref ?? "?") (\(source.commit.map { String($0.prefix(12)) } ?? "?"))"
        case .workingTree:
            guard let commit = source.commit else { return "\(source.repository) (working tree)" }
            let state = source.dirty == true ? ", with uncommitted changes" : ""
            return "\(source.repository) (working tree at \(commit.prefix(12))\(state))"
        }
    }

    private func plural(_ count: Int, _ singular: String, _ pluralForm: String? = nil) -> String {
        "\(count) \(count == 1 ? singular : pluralForm ?? singular + "s")"
    }
}

/// The JSON shape, `format_version` "1". Keys are part of the contract.
private struct JSONDocument: Encodable {
    struct Summary: Encodable {
        var certificateAuthorities: Int
        var teams: Int
        var profiles: Int

        enum CodingKeys: String, CodingKey {
            case certificateAuthorities = "certificate_authorities"
            case teams, profiles
        }
    }

    var formatVersion: String
    var valid: Bool
    var source: PlanDocument.Source
    var summary: Summary?
    var errorCount: Int
    var warningCount: Int
    var diagnostics: [JSONDiagnostic]

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version"
        case valid, source, summary
        case errorCount = "error_count"
        case warningCount = "warning_count"
        case diagnostics
    }
}

/// One diagnostic in JSON: `{severity, code, file, line, column, message}`, with null
/// for what does not apply, so that every key is always present.
public struct JSONDiagnostic: Codable, Sendable, Hashable {
    public var severity: String
    public var code: String
    public var file: String?
    public var line: Int?
    public var column: Int?
    public var message: String

    public init(_ diagnostic: Diagnostic) {
        severity = diagnostic.severity.rawValue
        code = diagnostic.code.rawValue
        file = diagnostic.file
        line = diagnostic.position?.line
        column = diagnostic.position?.column
        message = diagnostic.message
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(severity, forKey: .severity)
        try container.encode(code, forKey: .code)
        try container.encode(file, forKey: .file)
        try container.encode(line, forKey: .line)
        try container.encode(column, forKey: .column)
        try container.encode(message, forKey: .message)
    }

    enum CodingKeys: String, CodingKey { case severity, code, file, line, column, message }
}
