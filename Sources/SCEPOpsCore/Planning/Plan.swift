/// The planner's output: an ordered list of changes, or the errors that forbid them.
/// A value: rendering, saving and applying it are done elsewhere.
public struct Plan: Sendable {
    public var source: ConfigSource
    public var stateRevision: Int
    /// In the order apply carries them out; `order` counts from 1.
    public var changes: [PlannedChange]
    public var diagnostics: [Diagnostic]
    /// Resources that exist in both and did not change, by kind.
    public var unchanged: [PlannedChange.Kind: Int]

    public var hasErrors: Bool { diagnostics.hasErrors }
    public var hasChanges: Bool { !changes.isEmpty }

    public init(
        source: ConfigSource, stateRevision: Int, changes: [PlannedChange], diagnostics: [Diagnostic],
        unchanged: [PlannedChange.Kind: Int]
    ) {
        self.source = source
        self.stateRevision = stateRevision
        self.changes = changes
        self.diagnostics = diagnostics
        self.unchanged = unchanged
    }

    public func count(_ action: PlannedChange.Action) -> Int {
        changes.count { $0.action == action }
    }
}

public struct PlannedChange: Sendable, Hashable {
    public enum Action: String, Sendable, Hashable, CaseIterable {
        case create
        case update
        case delete
        case replace
    }

    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case certificateAuthority = "certificate_authority"
        case team
        case profile
    }

    /// What a change is about, typed: a team name may hold a `/`, so a profile's team and
    /// identifier are never joined into one string to be split again.
    public enum Subject: Sendable, Hashable {
        case certificateAuthority(String)
        case team(String)
        case profile(ProfileKey)

        public var kind: Kind {
            switch self {
            case .certificateAuthority: .certificateAuthority
            case .team: .team
            case .profile: .profile
            }
        }

        /// As output shows it; for a profile, `team/PayloadIdentifier`.
        public var name: String {
            switch self {
            case .certificateAuthority(let name), .team(let name): name
            case .profile(let key): key.description
            }
        }
    }

    public var action: Action
    public var subject: Subject
    public var kind: Kind { subject.kind }
    /// For display: the CA or team name; for a profile, `team/PayloadIdentifier`.
    public var name: String { subject.name }
    /// For a CA replaced under a new name: the old name.
    public var previousName: String?
    /// 1-based position in apply order.
    public var order: Int
    public var hostsAffected: Int
    /// Why, when the action alone does not say it (display only).
    public var reason: String?
    public var fields: [FieldChange]
    /// The file that defines it in the desired state, or defined it before a delete.
    public var file: String?
    /// For a CA created, renamed or moved to a new URL: the certificate its URL serves.
    public var caCertificate: CACertificateSummary?

    public init(
        action: Action, _ subject: Subject, previousName: String? = nil, order: Int = 0, hostsAffected: Int = 0,
        reason: String? = nil, fields: [FieldChange] = [], file: String? = nil
    ) {
        self.action = action
        self.subject = subject
        self.previousName = previousName
        self.order = order
        self.hostsAffected = hostsAffected
        self.reason = reason
        self.fields = fields
        self.file = file
    }
}

/// One changed field. A sensitive one carries no values, only the fact that it changed.
public struct FieldChange: Sendable, Hashable {
    public var path: String
    public var before: String?
    public var after: String?
    public var sensitive: Bool

    public init(path: String, before: String?, after: String?, sensitive: Bool = false) {
        self.path = path
        self.before = sensitive ? nil : before
        self.after = sensitive ? nil : after
        self.sensitive = sensitive
    }

    public static let sensitiveText = "(sensitive value changed)"
}
