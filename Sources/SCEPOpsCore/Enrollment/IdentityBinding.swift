import Foundation

/// Whether an Authenticate may bind a device identity to a UDID. An identity serves one
/// host; a host keeps its identity until it lets go of it. Anyone holding a team's
/// enrollment profile can mint a fresh identity and claim any UDID, so a new identity for a
/// bound UDID is refused unless
/// - the bound identity checked out (the enrollment profile was removed: devices send
///   CheckOut, `CheckOutWhenRemoved`), or
/// - an operator allowed it for a while (`scepops hosts allow-reenroll UDID`): a wiped or
///   replaced device, which comes back with the same UDID and sends no CheckOut.
public enum IdentityBinding {
    /// The identity bound to the host now.
    public struct Bound: Sendable, Hashable {
        public var fingerprint: String
        public var checkedOut: Bool

        public init(fingerprint: String, checkedOut: Bool) {
            self.fingerprint = fingerprint
            self.checkedOut = checkedOut
        }
    }

    public enum Decision: Sendable, Hashable {
        /// Bind (or keep) the presented identity. `usesAllowance`: an operator's allowance
        /// made it possible, and is spent.
        case bind(usesAllowance: Bool)
        /// The identity belongs to another host.
        case refuseReused
        /// The host is bound to another identity that has not checked out.
        case refuseRebind
    }

    /// `ownerOfPresented`: the host the presented identity is bound to, if any.
    /// `allowedUntil`: an operator's re-enrollment allowance for the host.
    public static func decide(
        host: String, presented: String, ownerOfPresented: String?, bound: Bound?, allowedUntil: Date?, now: Date
    ) -> Decision {
        if let ownerOfPresented, ownerOfPresented != host { return .refuseReused }
        guard let bound, bound.fingerprint != presented else { return .bind(usesAllowance: false) }
        if bound.checkedOut { return .bind(usesAllowance: false) }
        if let allowedUntil, allowedUntil > now { return .bind(usesAllowance: true) }
        return .refuseRebind
    }
}

extension IdentityBinding.Decision {
    /// What the device is told when the binding is refused; nil when it binds.
    public var refusal: MDMRefusal? {
        switch self {
        case .refuseReused: .identityReused
        case .refuseRebind: .hostBoundElsewhere
        case .bind: nil
        }
    }

    /// Whether binding spends an operator's allowance.
    public var usesAllowance: Bool {
        if case .bind(let uses) = self { uses } else { false }
    }
}
