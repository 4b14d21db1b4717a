/// How serve writes its log: a line a person reads, or one JSON object a line for a log
/// shipper.
public enum LogFormat: String, Sendable, CaseIterable {
    case text
    case json
}
