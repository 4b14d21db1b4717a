import Foundation

/// The versioned JSON form of a drift report. A later run reads its fingerprints back
/// with `--since`.
public struct DriftDocument: Codable, Sendable, Hashable {
    public struct Finding: Codable, Sendable, Hashable {
        public var category: String
        public var kind: String
        public var subject: String
        public var message: String
        public var fingerprint: String
        public var ignored: Ignored?
        /// Against `--since`; null without it.
        public var new: Bool?
        /// A host's team and serial, where the finding is a host's; null otherwise.
        public var team: String?
        public var hostSerial: String?

        enum CodingKeys: String, CodingKey {
            case category, kind, subject, message, fingerprint, ignored, new, team
            case hostSerial = "host_serial"
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(category, forKey: .category)
            try container.encode(kind, forKey: .kind)
            try container.encode(subject, forKey: .subject)
            try container.encode(message, forKey: .message)
            try container.encode(fingerprint, forKey: .fingerprint)
            try container.encode(ignored, forKey: .ignored)
            try container.encode(new, forKey: .new)
            try container.encode(team, forKey: .team)
            try container.encode(hostSerial, forKey: .hostSerial)
        }
    }

    public struct Ignored: Codable, Sendable, Hashable {
        public var reason: String
        public var until: String
        public var expiresInDays: Int
        public var rule: String

        enum CodingKeys: String, CodingKey {
            case reason, until, rule
            case expiresInDays = "expires_in_days"
        }
    }

    public struct Summary: Codable, Sendable, Hashable {
        public var unapplied: Int
        public var drift: Int
        public var ignored: Int
        public var alreadyReported: Int

        enum CodingKeys: String, CodingKey {
            case unapplied, drift, ignored
            case alreadyReported = "already_reported"
        }
    }

    public var formatVersion: String
    public var source: PlanDocument.Source
    public var exitCode: Int32
    public var summary: Summary
    public var findings: [Finding]
    public var notes: [String]
    public var diagnostics: [JSONDiagnostic]

    enum CodingKeys: String, CodingKey {
        case source, summary, findings, notes, diagnostics
        case formatVersion = "format_version"
        case exitCode = "exit_code"
    }

    public init(_ report: DriftReport) {
        formatVersion = "1"
        source = PlanDocument.Source(report.source)
        exitCode = report.exitCode
        summary = Summary(
            unapplied: report.unappliedCount, drift: report.driftCount, ignored: report.ignored.count,
            alreadyReported: report.unchanged.count)
        findings = report.entries.map { entry in
            Finding(
                category: entry.finding.category.rawValue, kind: entry.finding.kind.rawValue, subject: entry.finding.subject,
                message: entry.finding.message, fingerprint: entry.finding.fingerprint,
                ignored: entry.ignoredBy.map {
                    Ignored(reason: $0.reason, until: $0.until, expiresInDays: entry.daysLeft ?? 0, rule: "\($0.file):\($0.line)")
                }, new: entry.isNew, team: entry.finding.team, hostSerial: entry.finding.hostSerial)
        }
        notes = DriftText.notes(report)
        diagnostics = report.diagnostics.map(JSONDiagnostic.init)
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self) + "\n"
    }

    /// The fingerprints a previous run reported (not those it ignored): what `--since`
    /// does not report again. Nil when the bytes are not a drift document.
    public static func reportedFingerprints(_ data: [UInt8]) -> Set<String>? {
        guard let document = try? JSONDecoder().decode(DriftDocument.self, from: Data(data)),
            document.formatVersion == "1"
        else { return nil }
        return Set(document.findings.filter { $0.ignored == nil }.map(\.fingerprint))
    }
}
