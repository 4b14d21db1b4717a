/// The lease that keeps two applies apart.
public protocol LeaseStore: Sendable {
    /// Takes the lease or throws `.locked` naming the holder. Returns a note when it
    /// took over an expired lease or one whose process is gone.
    func acquireLease(_ lease: Lease) async throws(StoreError) -> String?
    /// Records the commit being applied, once the holder knows it.
    func recordLeaseCommit(_ commit: String?, owner: String) async throws(StoreError)
    func releaseLease(owner: String) async throws(StoreError)
}
