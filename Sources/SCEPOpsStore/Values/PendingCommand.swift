import SCEPOpsCore

/// A queued host command, not yet rendered.
public struct PendingCommand: Sendable, Hashable {
    public var id: Int64
    public var host: String
    public var profile: String
    public var type: HostCommandKind
    /// For an install: the profile's bytes and the CAs it uses; nil when the profile is gone.
    public var content: [UInt8]?
    public var certificateAuthorities: [String]

    public init(
        id: Int64, host: String, profile: String, type: HostCommandKind, content: [UInt8]?, certificateAuthorities: [String]
    ) {
        self.id = id
        self.host = host
        self.profile = profile
        self.type = type
        self.content = content
        self.certificateAuthorities = certificateAuthorities
    }
}
