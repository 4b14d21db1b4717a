import Foundation

/// The versioned JSON form of a plan (docs/contract.md §3, `format_version` "1"), which is also the
/// body of a plan file. Keys are sorted and optional ones are written as null, so the
/// output is deterministic and its shape does not depend on the plan.
public struct PlanDocument: Codable, Sendable, Hashable {
    public struct Source: Codable, Sendable, Hashable {
        public var kind: String
        public var repository: String
        public var ref: String?
        public var commit: String?
        public var dirty: Bool?

        public init(_ source: ConfigSource) {
            kind = source.kind.rawValue
            repository = source.repository
            ref = source.ref
            commit = source.commit
            dirty = source.dirty
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(kind, forKey: .kind)
            try container.encode(repository, forKey: .repository)
            try container.encode(ref, forKey: .ref)
            try container.encode(commit, forKey: .commit)
            try container.encode(dirty, forKey: .dirty)
        }
    }

    public struct Field: Codable, Sendable, Hashable {
        public var path: String
        public var before: String?
        public var after: String?
        public var sensitive: Bool

        public init(path: String, before: String?, after: String?, sensitive: Bool) {
            self.path = path
            self.before = before
            self.after = after
            self.sensitive = sensitive
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(path, forKey: .path)
            try container.encode(before, forKey: .before)
            try container.encode(after, forKey: .after)
            try container.encode(sensitive, forKey: .sensitive)
        }
    }

    public struct Change: Codable, Sendable, Hashable {
        public var order: Int
        public var action: String
        public var kind: String
        public var name: String
        public var previousName: String?
        public var file: String?
        public var hostsAffected: Int
        public var reason: String?
        public var fields: [Field]
        public var caCertificate: CACertificateSummary?

        public init(
            order: Int, action: String, kind: String, name: String, previousName: String?, file: String?, hostsAffected: Int,
            reason: String?, fields: [Field], caCertificate: CACertificateSummary?
        ) {
            self.order = order
            self.action = action
            self.kind = kind
            self.name = name
            self.previousName = previousName
            self.file = file
            self.hostsAffected = hostsAffected
            self.reason = reason
            self.fields = fields
            self.caCertificate = caCertificate
        }

        enum CodingKeys: String, CodingKey {
            case order, action, kind, name, file, reason, fields
            case previousName = "previous_name"
            case hostsAffected = "hosts_affected"
            case caCertificate = "ca_certificate"
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(order, forKey: .order)
            try container.encode(action, forKey: .action)
            try container.encode(kind, forKey: .kind)
            try container.encode(name, forKey: .name)
            try container.encode(previousName, forKey: .previousName)
            try container.encode(file, forKey: .file)
            try container.encode(hostsAffected, forKey: .hostsAffected)
            try container.encode(reason, forKey: .reason)
            try container.encode(fields, forKey: .fields)
            try container.encode(caCertificate, forKey: .caCertificate)
        }
    }

    public struct Summary: Codable, Sendable, Hashable {
        public var create: Int
        public var update: Int
        public var delete: Int
        public var replace: Int
        public var unchanged: Int
    }

    /// What ties a saved plan to what it was made from (plan files only).
    public struct Binding: Codable, Sendable, Hashable {
        public var commit: String?
        /// SHA-256 over the desired state, secrets by their keyed digest.
        public var desiredFingerprint: String
        public var stateRevision: Int
        public var planHash: String
        public var scepopsVersion: String
        /// Keyed digests (HMAC) of each secret the plan was made with: `kind/name/field`.
        public var secretDigests: [String: String]
        /// True for a plan made with `--without-secrets`: apply refuses it.
        public var uncheckedSecrets: Bool?

        public init(
            commit: String?, desiredFingerprint: String, stateRevision: Int, planHash: String, scepopsVersion: String,
            secretDigests: [String: String], uncheckedSecrets: Bool? = nil
        ) {
            self.commit = commit
            self.desiredFingerprint = desiredFingerprint
            self.stateRevision = stateRevision
            self.planHash = planHash
            self.scepopsVersion = scepopsVersion
            self.secretDigests = secretDigests
            self.uncheckedSecrets = uncheckedSecrets
        }

        enum CodingKeys: String, CodingKey {
            case commit
            case desiredFingerprint = "desired_fingerprint"
            case stateRevision = "state_revision"
            case planHash = "plan_hash"
            case scepopsVersion = "scepops_version"
            case secretDigests = "secret_digests"
            case uncheckedSecrets = "unchecked_secrets"
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(commit, forKey: .commit)
            try container.encode(desiredFingerprint, forKey: .desiredFingerprint)
            try container.encode(stateRevision, forKey: .stateRevision)
            try container.encode(planHash, forKey: .planHash)
            try container.encode(scepopsVersion, forKey: .scepopsVersion)
            try container.encode(secretDigests, forKey: .secretDigests)
            if uncheckedSecrets == true { try container.encode(true, forKey: .uncheckedSecrets) }
        }
    }

    public static let formatVersion = "1"

    public var formatVersion: String
    public var source: Source
    public var stateRevision: Int
    public var caCheck: String?
    public var summary: Summary
    public var changes: [Change]
    public var diagnostics: [JSONDiagnostic]
    public var binding: Binding?

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version"
        case source
        case stateRevision = "state_revision"
        case caCheck = "ca_check"
        case summary, changes, diagnostics, binding
    }

    public init(_ plan: Plan, caCheck: String? = nil, binding: Binding? = nil) {
        formatVersion = Self.formatVersion
        source = Source(plan.source)
        stateRevision = plan.stateRevision
        self.caCheck = caCheck
        summary = Summary(
            create: plan.count(.create), update: plan.count(.update), delete: plan.count(.delete),
            replace: plan.count(.replace), unchanged: PlanSummary.unchangedCount(plan))
        changes = plan.changes.map { change in
            Change(
                order: change.order, action: change.action.rawValue, kind: change.kind.rawValue, name: change.name,
                previousName: change.previousName, file: change.file, hostsAffected: change.hostsAffected,
                reason: change.reason,
                fields: change.fields.map {
                    Field(path: $0.path, before: $0.before, after: $0.after, sensitive: $0.sensitive)
                }, caCertificate: change.caCertificate)
        }
        diagnostics = plan.diagnostics.map(JSONDiagnostic.init)
        self.binding = binding
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(formatVersion, forKey: .formatVersion)
        try container.encode(source, forKey: .source)
        try container.encode(stateRevision, forKey: .stateRevision)
        try container.encode(caCheck, forKey: .caCheck)
        try container.encode(summary, forKey: .summary)
        try container.encode(changes, forKey: .changes)
        try container.encode(diagnostics, forKey: .diagnostics)
        if let binding { try container.encode(binding, forKey: .binding) }
    }

    public var hasErrors: Bool { diagnostics.contains { $0.severity == Diagnostic.Severity.error.rawValue } }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self) + "\n"
    }

    /// The changes alone, canonical: what the plan hash is taken over.
    public func canonicalChanges() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return [UInt8]((try? encoder.encode(changes)) ?? Data())
    }

    public static func decode(_ data: [UInt8]) -> PlanDocument? {
        try? JSONDecoder().decode(PlanDocument.self, from: Data(data))
    }
}
