/// What an API token may do. Each role includes the one before it: `read` sees the state,
/// `plan` also plans against it, `apply` also changes it.
public enum TokenRole: String, Sendable, Hashable, CaseIterable, Comparable {
    case read
    case plan
    case apply

    public func allows(_ call: AdminCall) -> Bool { self >= call.role }

    public static func < (lhs: TokenRole, rhs: TokenRole) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// The calls of the admin API, each with the least role that may make it.
public enum AdminCall: String, Sendable, Hashable, CaseIterable {
    case status
    case history
    case show
    case drift
    case hosts
    case certificates
    case plan
    case apply

    public var role: TokenRole {
        switch self {
        case .status, .history, .show, .drift, .hosts, .certificates: .read
        case .plan: .plan
        case .apply: .apply
        }
    }
}
