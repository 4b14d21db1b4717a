/// What a host that joins, leaves or changes team is sent: the old team's profiles
/// removed first, then the new team's installed, each in identifier order.
public enum TeamMove {
    /// `profiles`: the PayloadIdentifiers of each team's profiles.
    public static func deliveries(from previous: String?, to next: String?, profiles: [String: [String]])
        -> [ProfileDelivery]
    {
        guard previous != next else { return [] }
        var deliveries: [ProfileDelivery] = []
        for (team, kind) in [(previous, HostCommandKind.removeProfile), (next, .installProfile)] {
            guard let team else { continue }
            deliveries += (profiles[team] ?? []).sorted().map { ProfileDelivery(kind, ProfileKey(team: team, identifier: $0)) }
        }
        return deliveries
    }
}
