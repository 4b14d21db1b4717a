/// Writes a plan in one transaction, with its host commands in the outbox.
public protocol ApplyWriter: Sendable {
    func apply(_ request: ApplyRequest) async throws(StoreError) -> ApplyRecord
    /// Appends a failed apply to the history (the failed transaction itself left nothing).
    func recordFailure(_ request: ApplyRequest, detail: String) async throws(StoreError)
}
