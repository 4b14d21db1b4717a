/// Which profiles an apply sends to hosts, in apply order: a deleted profile is removed,
/// a created, replaced or updated one installed, and a CA's new challenge re-installs every
/// profile that uses the CA (it reaches hosts only in a re-rendered profile). Each goes to
/// every host of the profile's team.
public enum HostCommandPlan {
    /// `profiles`: the desired profile instances, which exist once the apply has run.
    public static func deliveries(for plan: Plan, profiles: [ProfileKey: Profile]) -> [ProfileDelivery] {
        var deliveries: [ProfileDelivery] = []
        for change in plan.changes {
            switch (change.subject, change.action) {
            case (.profile(let key), .delete):
                deliveries.append(ProfileDelivery(.removeProfile, key))
            case (.profile(let key), _):
                deliveries.append(ProfileDelivery(.installProfile, key))
            case (.certificateAuthority(let name), .update) where change.fields.contains(where: { $0.path == "challenge" }):
                let users = profiles.filter { $0.value.certificateAuthorities.contains(name) }.keys
                    .sorted { ($0.team, $0.identifier) < ($1.team, $1.identifier) }
                deliveries += users.map { ProfileDelivery(.installProfile, $0) }
            case (.certificateAuthority, _), (.team, _):
                break
            }
        }
        return deliveries
    }
}
