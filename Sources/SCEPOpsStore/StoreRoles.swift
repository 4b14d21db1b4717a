import SCEPOpsCore

// Small roles, one concern each (nanomdm's habit): a consumer asks only for the role it
// uses, and every backend implements all of them.

/// The state as the planner needs it.
public protocol StateReader {
    func currentState() throws(StoreError) -> CurrentState
}

/// Writes a plan in one transaction, with its host commands in the outbox.
public protocol ApplyWriter {
    func apply(_ request: ApplyRequest) throws(StoreError) -> ApplyRecord
    /// Appends a failed apply to the history (the failed transaction itself left nothing).
    func recordFailure(_ request: ApplyRequest, detail: String) throws(StoreError)
}

/// The lease that keeps two applies apart.
public protocol LeaseStore {
    /// Takes the lease or throws `.locked` naming the holder. Returns a note when it
    /// took over an expired lease or one whose process is gone.
    func acquireLease(_ lease: Lease) throws(StoreError) -> String?
    /// Records the commit being applied, once the holder knows it.
    func recordLeaseCommit(_ commit: String?, owner: String) throws(StoreError)
    func releaseLease(owner: String) throws(StoreError)
}

/// The append-only history of applies.
public protocol ApplyHistoryReader {
    func applies() throws(StoreError) -> [ApplyRecord]
}

/// What `scepops status` shows.
public protocol StatusReader {
    func status() throws(StoreError) -> StateStatus
}

/// What `scepops drift` reads of the hosts.
public protocol DriftReader {
    func hostObservations() throws(StoreError) -> HostObservations
}
