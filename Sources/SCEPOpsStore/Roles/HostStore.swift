/// Hosts as enrollment records them.
public protocol HostStore: Sendable {
    /// Records a host in a team (nil: in none), or moves it; `TeamMove` says what it is sent.
    func enroll(host uuid: String, serial: String?, team: String?) async throws(StoreError)
    /// The host's queued commands, oldest first.
    func queuedCommands(host uuid: String) async throws(StoreError) -> [QueuedCommand]
    /// Managed profiles the host reported that the state did not deliver.
    func unexpectedProfiles(host uuid: String) async throws(StoreError) -> [String]
    /// Every host the state knows, checked-out ones too, with its deliveries by status.
    func hosts() async throws(StoreError) -> [HostSummary]
    /// One host's deliveries, by profile.
    func deliveries(host uuid: String) async throws(StoreError) -> [HostDelivery]
}
