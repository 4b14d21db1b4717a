/// Where a host's delivery of a profile stands: a closed set, stored by its raw value.
public enum DeliveryStatus: String, Sendable, Hashable, CaseIterable {
    /// Queued; the worker has not made its command ready yet.
    case pending
    /// Its command is ready (and, for an install, its one-time token live).
    case sent
    /// The host's ProfileList shows it.
    case verified
    case failed
}

/// What a delivery does to the host: a closed set, stored by its raw value.
public enum DeliveryOperation: String, Sendable, Hashable, CaseIterable {
    case install
    case remove

    public init(_ kind: HostCommandKind) {
        self = kind == .removeProfile ? .remove : .install
    }
}

/// A queued host command's life in the outbox: a closed set, stored by its raw value.
public enum OutboxStatus: String, Sendable, Hashable, CaseIterable {
    case queued
    /// Offered to the host, not answered yet.
    case sent
    case acknowledged
    /// Answered with an error, or closed because its token was spent.
    case error
}

/// One delivery as the proxy and ProfileList reconciliation see it.
public struct DeliveryState: Sendable, Hashable {
    public var operation: DeliveryOperation
    public var status: DeliveryStatus
    /// The host acknowledged the install (its proxy URL is spent then).
    public var acknowledged: Bool

    public init(operation: DeliveryOperation, status: DeliveryStatus, acknowledged: Bool) {
        self.operation = operation
        self.status = status
        self.acknowledged = acknowledged
    }

    /// Rendered and not yet acknowledged: the host may be enrolling through the proxy now.
    public var isInFlight: Bool {
        operation == .install && status == .sent && !acknowledged
    }
}
