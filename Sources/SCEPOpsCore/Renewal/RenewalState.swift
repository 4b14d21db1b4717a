/// Where the renewal of one host's certificate for one profile stands: a closed set, stored
/// and printed by its raw value.
public enum RenewalState: String, Sendable, Hashable, CaseIterable, Codable {
    /// Not due.
    case none
    /// Due, and waiting for its turn (the CA's hourly limit) or its retry time.
    case due
    /// The profile went out again; no newer certificate has come back yet.
    case inProgress = "in_progress"
    /// A newer certificate came back.
    case renewed
    /// Every attempt failed; nothing more is tried until the host holds a newer certificate.
    case failed
}
