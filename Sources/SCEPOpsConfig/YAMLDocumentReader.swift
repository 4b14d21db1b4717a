import SCEPOpsCore
import Yams

/// Reads one CA or team YAML file into its document type. It walks Yams' node tree
/// rather than decoding, so that every finding (unknown key, wrong type, unset
/// variable) carries the line and column it was written at.
struct YAMLDocumentReader {
    let file: String
    let expander: EnvironmentExpander
    /// False for `plan --without-secrets`: a secret field is not expanded, and its value is
    /// `Secret.unchecked`.
    var readsSecrets = true
    var diagnostics: [Diagnostic] = []
    /// Scalar bytes the walk may still read. Without aliases a walk reads no more than the
    /// file holds; an anchor referenced over and over (a "billion laughs") reads it many
    /// times, and is stopped here with one finding instead of gigabytes.
    private var budget = 0
    private var overBudget = false

    init(file: String, expander: EnvironmentExpander) {
        self.file = file
        self.expander = expander
    }

    static let certificateAuthorityKeys = ["name", "url", "challenge", "renewal"]
    static let requiredCertificateAuthorityKeys = ["name", "url", "challenge"]
    static let renewalKeys = ["before", "max_per_hour"]
    static let teamKeys = ["name", "enroll_secret", "profiles"]

    mutating func readCertificateAuthority(_ text: String) -> CertificateAuthorityDocument? {
        guard let fields = mapping(text, allowed: Self.certificateAuthorityKeys, required: Self.requiredCertificateAuthorityKeys)
        else { return nil }
        var document = CertificateAuthorityDocument(file: file)
        document.name = fields["name"].flatMap { string($0, key: "name", sensitive: false)?.value }
        document.url = fields["url"].flatMap { string($0, key: "url", sensitive: false)?.value }
        if let node = fields["challenge"], let challenge = secret(node, key: "challenge") {
            document.challenge = challenge.value
            document.challengeFromEnvironment = challenge.fromEnvironment
        }
        if let node = fields["renewal"] { document.renewal = renewal(node) }
        return document
    }

    /// `renewal: {before: DURATION, max_per_hour: N}`; each malformed field reported at its
    /// line and left at its default.
    private mutating func renewal(_ node: Node) -> RenewalSettings {
        var settings = RenewalSettings()
        guard node.null == nil, let fields = fields(of: node, allowed: Self.renewalKeys, required: []) else { return settings }
        if let before = fields["before"] {
            if case .scalar(let scalar) = before, let seconds = DurationText.seconds(scalar.string, plainNumbers: false),
                seconds <= RenewalSettings.longestBefore
            {
                settings.before = seconds
            } else {
                diagnostics.append(
                    .error(.caRenewalInvalid, file: file, at: position(before),
                        "\"renewal.before\" must be a duration such as 30d, 12h or 23h58m, found \(shown(before))"))
            }
        }
        if let limit = fields["max_per_hour"] {
            if let text = limit.scalar?.string, let count = Int(text), count >= 1, count <= RenewalSettings.maximumPerHourLimit {
                settings.maximumPerHour = count
            } else {
                diagnostics.append(
                    .error(.caRenewalInvalid, file: file, at: position(limit),
                        "\"renewal.max_per_hour\" must be a whole number from 1 to \(RenewalSettings.maximumPerHourLimit), found \(shown(limit))"))
            }
        }
        return settings
    }

    mutating func readTeam(_ text: String) -> TeamDocument? {
        guard let fields = mapping(text, allowed: Self.teamKeys, required: ["name", "enroll_secret"]) else { return nil }
        var document = TeamDocument(file: file)
        document.name = fields["name"].flatMap { string($0, key: "name", sensitive: false)?.value }
        if let node = fields["enroll_secret"], let secret = secret(node, key: "enroll_secret") {
            document.enrollSecret = secret.value
            document.enrollSecretFromEnvironment = secret.fromEnvironment
        }
        if let node = fields["profiles"] {
            document.profiles = stringList(node, key: "profiles")
        }
        return document
    }

    // MARK: - Nodes

    /// The top-level mapping, with unknown and missing keys reported.
    mutating func mapping(_ text: String, allowed: [String], required: [String]) -> [String: Node]? {
        let root: Node?
        do {
            // The encoding is given: its default is looked up in the environment on every call.
            // Every field is read as its text (null is told by the text too), so scalars are
            // not given types: Yams would try a regex per scalar for each of them.
            root = try Yams.compose(yaml: text, .basic, .default, .utf8)
        } catch {
            report(error)
            return nil
        }
        budget = text.utf8.count + 1024
        guard let root else {
            diagnostics.append(
                .error(.missingKey, file: file, at: SourcePosition(line: 1, column: 1),
                    "the file is empty; expected the keys \(required.joined(separator: ", "))"))
            return nil
        }
        return fields(of: root, allowed: allowed, required: required)
    }

    /// A mapping's values by key, with unknown and missing keys reported.
    mutating func fields(of node: Node, allowed: [String], required: [String]) -> [String: Node]? {
        guard case .mapping(let mapping) = node else {
            diagnostics.append(
                .error(.wrongType, file: file, at: position(node),
                    "expected a mapping with the keys \(allowed.joined(separator: ", ")), found \(describe(node))"))
            return nil
        }
        var fields: [String: Node] = [:]
        // A misspelt required key is reported once, as the misspelling, not again as missing.
        var suggested: Set<String> = []
        for (key, value) in mapping {
            guard let name = key.scalar?.string, case .scalar = key else {
                diagnostics.append(.error(.wrongType, file: file, at: position(key), "a key must be a plain string"))
                continue
            }
            guard allowed.contains(name) else {
                var message = "unknown key \"\(name.prefix(80))\""
                if let suggestion = NearestName.closest(to: name, in: allowed) {
                    message += "; did you mean \"\(suggestion)\"?"
                    suggested.insert(suggestion)
                }
                message += " (allowed: \(allowed.joined(separator: ", ")))"
                diagnostics.append(.error(.unknownKey, file: file, at: position(key), message))
                continue
            }
            fields[name] = value
        }
        for key in required where fields[key] == nil && !suggested.contains(key) {
            diagnostics.append(.error(.missingKey, file: file, at: position(node), "missing required key \"\(key)\""))
        }
        return fields
    }

    struct ExpandedString {
        var value: Located<String>
        var substituted: Bool
    }

    /// A scalar as a string with environment variables expanded. Null reads as empty,
    /// so that `challenge:` with nothing after it gets the "cannot be empty" message.
    mutating func string(_ node: Node, key: String, sensitive: Bool) -> ExpandedString? {
        guard spend(node.scalar?.string.utf8.count ?? 0, at: node) else { return nil }
        guard case .scalar(let scalar) = node else {
            diagnostics.append(
                .error(.wrongType, file: file, at: position(node), "\"\(key)\" must be a string, found \(describe(node))"))
            return nil
        }
        let raw = node.null != nil ? "" : scalar.string
        let result = expander.expand(raw)
        var ok = true
        for problem in result.problems {
            ok = false
            switch problem {
            case .unset(let name):
                diagnostics.append(
                    .error(.envUnset, file: file, at: position(node),
                        "environment variable \(name) is not set (used in \"\(key)\"); set it, or write \\$ for a literal dollar sign"
                    ))
            case .malformed(let text):
                let shown = sensitive ? "" : " \"\(text.prefix(80))\""
                diagnostics.append(
                    .error(.envSyntax, file: file, at: position(node),
                        "malformed variable reference\(shown) in \"\(key)\"; write ${NAME}, or \\$ for a literal dollar sign"))
            }
        }
        guard ok else { return nil }
        return ExpandedString(value: Located(result.value, at: position(node)), substituted: result.substituted)
    }

    /// A secret field: expanded, or left unread when `readsSecrets` is off (then whether it
    /// names a variable is all that is known of it).
    private mutating func secret(_ node: Node, key: String) -> (value: Located<Secret>, fromEnvironment: Bool)? {
        guard readsSecrets else {
            guard case .scalar(let scalar) = node else {
                diagnostics.append(
                    .error(.wrongType, file: file, at: position(node), "\"\(key)\" must be a string, found \(describe(node))"))
                return nil
            }
            return (Located(.unchecked, at: position(node)), scalar.string.contains("$"))
        }
        guard let expanded = string(node, key: key, sensitive: true) else { return nil }
        return (Located(Secret(expanded.value.value), at: expanded.value.position), expanded.substituted)
    }

    private mutating func stringList(_ node: Node, key: String) -> [Located<String>] {
        if node.null != nil { return [] }
        guard case .sequence(let sequence) = node else {
            diagnostics.append(
                .error(.wrongType, file: file, at: position(node),
                    "\"\(key)\" must be a list of paths, found \(describe(node))"))
            return []
        }
        var paths: [Located<String>] = []
        for element in sequence {
            // Every element costs something, so a list of aliases to one short string is bounded too.
            guard spend(8, at: element) else { break }
            if let path = string(element, key: key, sensitive: false)?.value { paths.append(path) }
        }
        return paths
    }

    /// Takes `bytes` from the budget; past it, says so once and reads nothing more.
    private mutating func spend(_ bytes: Int, at node: Node) -> Bool {
        guard !overBudget else { return false }
        budget -= bytes
        guard budget < 0 else { return true }
        overBudget = true
        diagnostics.append(
            .error(.yamlAliasLimit, file: file, at: position(node),
                "the file expands to more than its own size through YAML aliases (an anchor referenced again and again); write the values out instead"))
        return false
    }

    // MARK: - Helpers

    private mutating func report(_ error: Error) {
        switch error {
        case YamlError.scanner(let context, let problem, let mark, _),
            YamlError.parser(let context, let problem, let mark, _),
            YamlError.composer(let context, let problem, let mark, _):
            var detail = problem
            if let context, !context.text.isEmpty {
                detail = "\(context.text) (from \(context.mark.line):\(context.mark.column)): \(problem)"
            }
            diagnostics.append(
                .error(.yamlSyntax, file: file, at: SourcePosition(line: mark.line, column: mark.column),
                    "YAML syntax error: \(detail)"))
        case YamlError.duplicatedKeysInMapping(let duplicates, let context):
            diagnostics.append(
                .error(.duplicateKey, file: file, at: SourcePosition(line: context.mark.line, column: context.mark.column),
                    "the key \(duplicates.map { "\"\($0)\"" }.joined(separator: ", ")) appears more than once"))
        case YamlError.reader(let problem, _, _, _):
            diagnostics.append(.error(.yamlSyntax, file: file, at: nil, "YAML syntax error: \(problem)"))
        default:
            diagnostics.append(.error(.yamlSyntax, file: file, at: nil, "YAML syntax error"))
        }
    }

    func position(_ node: Node) -> SourcePosition? {
        node.mark.map { SourcePosition(line: $0.line, column: $0.column) }
    }

    /// A scalar by its value (a field that holds no secret), anything else by its kind.
    func shown(_ node: Node) -> String {
        guard case .scalar(let scalar) = node, node.null == nil else { return describe(node) }
        return "\"\(TextLines.escape(String(scalar.string.prefix(40))))\""
    }

    func describe(_ node: Node) -> String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar where node.null != nil: "null"
        case .scalar: "a scalar"
        case .alias: "an alias"
        }
    }
}
