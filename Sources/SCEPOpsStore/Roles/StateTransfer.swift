/// Moving a whole state between backends (`scepops state copy`).
public protocol StateTransfer: Sendable {
    /// Every row, read in one transaction.
    func snapshot() async throws(StoreError) -> StateSnapshot
    /// Writes a snapshot into this state, which must be empty (no apply, no host), in one
    /// transaction: all of it or nothing.
    func restore(_ snapshot: StateSnapshot) async throws(StoreError)
}
