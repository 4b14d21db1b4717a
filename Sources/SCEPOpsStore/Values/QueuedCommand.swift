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

    /// The columns each backend reads a queued command from, for `FROM command_outbox o`
    /// (plain SQL both dialects take).
    static let columns = """
        SELECT o.id, o.host_uuid, o.profile_uuid, o.request_type, o.command_uuid,
            COALESCE(hp.identifier, '') AS identifier, p.content,
            (SELECT ca_name FROM profile_certificate_authority pc WHERE pc.profile_uuid = o.profile_uuid
                ORDER BY ca_name LIMIT 1) AS ca,
            (SELECT token FROM proxy_token t WHERE t.host_uuid = o.host_uuid AND t.profile_uuid = o.profile_uuid
                ORDER BY expires_at DESC LIMIT 1) AS token
        FROM command_outbox o
        LEFT JOIN host_profile hp ON hp.host_uuid = o.host_uuid AND hp.profile_uuid = o.profile_uuid
        LEFT JOIN profile p ON p.uuid = o.profile_uuid
        """
}
