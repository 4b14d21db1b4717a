import Foundation
import SCEPOpsCore
import Yams

/// Reads the drift ignore file:
///
/// ```yaml
/// ignore:
///   - fingerprint: 5b1f0c6a2d9e8f47     # one finding, as drift printed it
///     reason: lab Mac, reimaged every week
///     until: 2026-12-31
///   - kind: certificate-expiring        # or a kind, a subject, a team, a host serial
///     subject: "host LAB-*"             # (`*` is a wildcard), all that are given must match
///     reason: renewed by the lab's own MDM
///     until: 2027-01-15
///   - team: Kiosks
///     serial: "C02LAB*"
///     reason: loaners, reimaged on return
///     until: 2027-02-01
/// ```
///
/// Every rule needs a reason and an end date: an ignore that nobody remembers setting
/// must not hide drift for ever.
public enum DriftIgnoreFile {
    static let ruleKeys = ["fingerprint", "kind", "subject", "team", "serial", "reason", "until"]

    public static func read(path: String) -> (rules: [DriftIgnoreRule], diagnostics: [Diagnostic]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            return ([], [.error(.fileUnreadable, file: path, "cannot read the ignore file")])
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            return ([], [.error(.notUTF8, file: path, "the ignore file is not UTF-8")])
        }
        return parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) -> (rules: [DriftIgnoreRule], diagnostics: [Diagnostic]) {
        var reader = YAMLDocumentReader(file: file, expander: EnvironmentExpander(environment: [:]))
        guard let top = reader.mapping(text, allowed: ["ignore"], required: ["ignore"]), let list = top["ignore"] else {
            return ([], reader.diagnostics)
        }
        if list.null != nil { return ([], reader.diagnostics) }
        guard case .sequence(let items) = list else {
            reader.diagnostics.append(
                .error(.wrongType, file: file, at: reader.position(list), "\"ignore\" must be a list of rules, found \(reader.describe(list))"))
            return ([], reader.diagnostics)
        }
        var rules: [DriftIgnoreRule] = []
        for item in items {
            guard let fields = reader.fields(of: item, allowed: ruleKeys, required: ["reason", "until"]) else { continue }
            let line = reader.position(item)?.line ?? 1
            var values: [String: String] = [:]
            for (key, node) in fields {
                guard case .scalar(let scalar) = node, node.null == nil, !scalar.string.isEmpty else {
                    reader.diagnostics.append(
                        .error(.wrongType, file: file, at: reader.position(node), "\"\(key)\" must be a non-empty string"))
                    continue
                }
                values[key] = scalar.string
            }
            guard values.count == fields.count, let reason = values["reason"], let until = values["until"] else { continue }
            var ok = true
            func problem(_ key: String, _ message: String) {
                ok = false
                reader.diagnostics.append(
                    .error(.ignoreRuleInvalid, file: file, at: fields[key].flatMap(reader.position) ?? reader.position(item), message))
            }
            if DriftIgnoreRule.day(until) == nil { problem("until", "\"until\" must be a date written YYYY-MM-DD, found \"\(until.prefix(40))\"") }
            var kind: DriftFinding.Kind?
            if let name = values["kind"] {
                kind = DriftFinding.Kind(rawValue: name)
                if kind == nil {
                    var message = "unknown finding kind \"\(name.prefix(60))\""
                    let kinds = DriftFinding.Kind.allCases.map(\.rawValue)
                    if let suggestion = NearestName.closest(to: name, in: kinds) { message += "; did you mean \"\(suggestion)\"?" }
                    problem("kind", message + " (kinds: \(kinds.joined(separator: ", ")))")
                }
            }
            if let fingerprint = values["fingerprint"],
                fingerprint.count != 16 || !fingerprint.allSatisfy(\.isHexDigit)
            {
                problem("fingerprint", "\"fingerprint\" must be the 16 hex digits that drift prints in brackets")
            }
            if values["fingerprint"] == nil, values["kind"] == nil, values["subject"] == nil, values["team"] == nil, values["serial"] == nil {
                problem("reason", "the rule matches every finding; give a fingerprint, a kind, a subject, a team or a serial")
            }
            guard ok else { continue }
            rules.append(
                DriftIgnoreRule(
                    fingerprint: values["fingerprint"], kind: kind, subject: values["subject"], team: values["team"],
                    serial: values["serial"], reason: reason, until: until, file: file, line: line))
        }
        return (rules, reader.diagnostics.sorted())
    }
}
