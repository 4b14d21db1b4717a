/// A profile going out, as an install or a removal, to every host of its team.
public struct ProfileDelivery: Sendable, Hashable {
    public var profile: ProfileKey
    public var kind: HostCommandKind

    public init(_ kind: HostCommandKind, _ profile: ProfileKey) {
        self.profile = profile
        self.kind = kind
    }
}
