/// One profile's delivery to a host, as `scepops show host` lists it.
public struct HostDelivery: Sendable, Hashable {
    /// The profile's PayloadIdentifier.
    public var identifier: String
    public var operation: String
    public var status: String
    public var detail: String?
    public var updatedAt: String

    public init(identifier: String, operation: String, status: String, detail: String?, updatedAt: String) {
        self.identifier = identifier
        self.operation = operation
        self.status = status
        self.detail = detail
        self.updatedAt = updatedAt
    }

    /// The read each backend lists them with (plain SQL both dialects take).
    static let query = """
        SELECT identifier, operation, status, detail, updated_at FROM host_profile WHERE host_uuid = ? ORDER BY identifier, operation
        """
}
