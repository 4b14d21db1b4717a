import SCEPOpsCore

// The store's roles: small, one concern each, declared here without a database library.
// A consumer asks only for the roles it uses; every backend implements all of them, and
// one conformance suite runs them against each backend. The backends read, write in one
// transaction and claim; the core decides.

/// The state as the planner needs it.
public protocol StateReader: Sendable {
    func currentState() async throws(StoreError) -> CurrentState
}
