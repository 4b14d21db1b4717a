/// What a host's ProfileList answer means for its deliveries: what it lists is verified;
/// what it should hold but lacks goes out again, a bounded number of times, then fails;
/// what it holds that the state did not deliver is recorded for drift.
public enum ProfileListReconciliation {
    /// Re-deliveries of a profile missing from a host's ProfileList before it fails.
    public static let maximumRetries = 3

    /// A delivery of the host's, keyed by whatever the store names it by.
    public struct Delivery<ID: Hashable & Sendable>: Sendable, Hashable {
        public var id: ID
        /// The profile's top-level PayloadIdentifier.
        public var identifier: String
        public var state: DeliveryState
        public var retries: Int

        public init(id: ID, identifier: String, state: DeliveryState, retries: Int) {
            self.id = id
            self.identifier = identifier
            self.state = state
            self.retries = retries
        }
    }

    public enum Outcome: Sendable, Hashable {
        case verified
        /// Queue the install again; the retry count goes up by one.
        case redeliver(detail: String)
        case fail(detail: String)
    }

    public struct Judgement<ID: Hashable & Sendable>: Sendable, Hashable {
        public var id: ID
        public var outcome: Outcome
    }

    public struct Result<ID: Hashable & Sendable>: Sendable, Hashable {
        /// In the order of the deliveries given.
        public var outcomes: [Judgement<ID>]
        /// Listed identifiers the host was never given, sorted.
        public var unexpected: [String]
    }

    /// `deliveries`: every delivery the host has; only installs that were sent or verified
    /// are judged. `installed`: the identifiers the host listed.
    public static func reconcile<ID>(
        _ deliveries: [Delivery<ID>], installed: Set<String>, maximumRetries: Int = maximumRetries
    ) -> Result<ID> {
        var outcomes: [Judgement<ID>] = []
        for delivery in deliveries where delivery.state.operation == .install {
            guard delivery.state.status == .sent || delivery.state.status == .verified else { continue }
            // Still on its way: a listed identifier is then the profile it replaces (same
            // PayloadIdentifier), not this one.
            if delivery.state.isInFlight { continue }
            if installed.contains(delivery.identifier) {
                outcomes.append(Judgement(id: delivery.id, outcome: .verified))
            } else if delivery.retries >= maximumRetries {
                let detail = "the profile is missing from the device's profile list after \(delivery.retries) re-deliveries"
                outcomes.append(Judgement(id: delivery.id, outcome: .fail(detail: detail)))
            } else {
                outcomes.append(Judgement(id: delivery.id, outcome: .redeliver(detail: "missing from the device's profile list")))
            }
        }
        let known = Set(deliveries.map(\.identifier))
        return Result(outcomes: outcomes, unexpected: installed.subtracting(known).sorted())
    }
}
