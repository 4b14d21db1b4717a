import Foundation

/// A rule of the drift ignore file: it hides the findings it matches until its date, with
/// a reason that the report repeats. Past `until` it hides nothing.
public struct DriftIgnoreRule: Sendable, Hashable, Codable {
    /// Matches one finding exactly.
    public var fingerprint: String?
    public var kind: DriftFinding.Kind?
    /// Matches the finding's subject; `*` stands for any run of characters.
    public var subject: String?
    /// Match a host's team, or its serial number (`*` a wildcard in either).
    public var team: String?
    public var serial: String?
    public var reason: String
    /// The last day the rule holds (UTC), as written.
    public var until: String
    /// Where the rule is written, for messages.
    public var file: String
    public var line: Int

    public init(
        fingerprint: String? = nil, kind: DriftFinding.Kind? = nil, subject: String? = nil, team: String? = nil, serial: String? = nil,
        reason: String, until: String, file: String, line: Int
    ) {
        self.team = team
        self.serial = serial
        self.fingerprint = fingerprint
        self.kind = kind
        self.subject = subject
        self.reason = reason
        self.until = until
        self.file = file
        self.line = line
    }

    public func matches(_ finding: DriftFinding) -> Bool {
        if let fingerprint, fingerprint.lowercased() != finding.fingerprint { return false }
        if let kind, kind != finding.kind { return false }
        if let subject, !Self.glob(subject, matches: finding.subject) { return false }
        if let team, !Self.glob(team, matches: finding.team ?? "") || finding.team == nil { return false }
        if let serial, !Self.glob(serial, matches: finding.hostSerial ?? "") || finding.hostSerial == nil { return false }
        return true
    }

    /// Whole days from `now` to the end of the `until` day; negative once it has passed.
    public func daysLeft(now: Date) -> Int? {
        guard let day = Self.day(until) else { return nil }
        let end = day.addingTimeInterval(86_400)
        let seconds = end.timeIntervalSince(now)
        return seconds <= 0 ? -1 : Int(seconds / 86_400)
    }

    /// `YYYY-MM-DD` at 00:00 UTC.
    public static func day(_ text: String) -> Date? {
        guard text.count == 10 else { return nil }
        return try? Date(text + "T00:00:00Z", strategy: .iso8601)
    }

    static func glob(_ pattern: String, matches text: String) -> Bool {
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        guard parts.count > 1 else { return pattern == text }
        var rest = Substring(text)
        guard rest.hasPrefix(parts[0]) else { return false }
        rest = rest.dropFirst(parts[0].count)
        for part in parts.dropFirst().dropLast() where !part.isEmpty {
            guard let range = rest.range(of: part) else { return false }
            rest = rest[range.upperBound...]
        }
        return rest.hasSuffix(parts.last!)
    }
}
