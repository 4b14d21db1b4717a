/// The formats of plan and drift: for people, for a pull-request comment or an issue, or
/// for scripts.
public enum ReportFormat: String, Sendable, Hashable, Codable, CaseIterable {
    case text
    case markdown
    case json
}
