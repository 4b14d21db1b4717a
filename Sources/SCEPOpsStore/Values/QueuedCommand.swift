import SCEPOpsCore

/// A command in a host's queue, with what rendering it takes: `commandUUID` and, for an
/// install through the proxy, `token` are set once the worker has assigned it.
public struct QueuedCommand: Sendable, Hashable {
    public var host: String
    public var profile: String
    public var type: HostCommandKind
    public var commandUUID: String?
    /// The profile's top-level PayloadIdentifier.
    public var identifier: String
    /// For an install: the profile's bytes (nil once the profile is gone).
    public var content: [UInt8]?
    public var certificateAuthority: String?
    public var token: String?

    public init(
        host: String, profile: String, type: HostCommandKind, commandUUID: String?, identifier: String, content: [UInt8]?,
        certificateAuthority: String?, token: String?
    ) {
        self.host = host
        self.profile = profile
        self.type = type
        self.commandUUID = commandUUID
        self.identifier = identifier
        self.content = content
        self.certificateAuthority = certificateAuthority
        self.token = token
    }
}
