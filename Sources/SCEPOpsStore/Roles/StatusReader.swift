/// What `scepops status` shows.
public protocol StatusReader: Sendable {
    func status() async throws(StoreError) -> StateStatus
}
