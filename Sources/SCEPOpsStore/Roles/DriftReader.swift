import SCEPOpsCore

/// What `scepops drift` reads of the hosts.
public protocol DriftReader: Sendable {
    func hostObservations() async throws(StoreError) -> HostObservations
}
