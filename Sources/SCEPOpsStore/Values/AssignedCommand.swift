/// A queued command the worker made ready: its CommandUUID and, for an install through
/// the proxy, the one-time token its URL will carry. It is rendered when fetched.
public struct AssignedCommand: Sendable, Hashable {
    public var id: Int64
    public var host: String
    public var profile: String
    public var commandUUID: String
    public var token: String?
    public var certificateAuthority: String?

    public init(id: Int64, host: String, profile: String, commandUUID: String, token: String?, certificateAuthority: String?) {
        self.id = id
        self.host = host
        self.profile = profile
        self.commandUUID = commandUUID
        self.token = token
        self.certificateAuthority = certificateAuthority
    }
}
