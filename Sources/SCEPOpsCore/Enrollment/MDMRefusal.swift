/// Why the MDM channel refuses a device (answered 400, never 401: a 401 unenrolls).
public enum MDMRefusal: Error, Sendable, Hashable {
    case unknownEnrollSecret
    /// The identity already belongs to another host.
    case identityReused
    /// The host is bound to another identity, which has not checked out, and no operator
    /// allowed a new one.
    case hostBoundElsewhere
    /// The identity is not the one bound to this host.
    case identityNotBound
    case unknownCommand

    /// For logs and metrics.
    public var reason: String {
        switch self {
        case .unknownEnrollSecret: "unknown_enroll_secret"
        case .identityReused: "identity_reused"
        case .hostBoundElsewhere: "host_bound_to_another_identity"
        case .identityNotBound: "identity_not_bound"
        case .unknownCommand: "unknown_command"
        }
    }
}
