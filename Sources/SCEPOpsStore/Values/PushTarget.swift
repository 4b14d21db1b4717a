/// A host's APNs token (hex) and the PushMagic its pushes carry.
public struct PushTarget: Sendable, Hashable {
    public var host: String
    public var token: String
    public var pushMagic: String

    public init(host: String, token: String, pushMagic: String) {
        self.host = host
        self.token = token
        self.pushMagic = pushMagic
    }
}
