/// The append-only history of applies.
public protocol ApplyHistoryReader: Sendable {
    func applies() async throws(StoreError) -> [ApplyRecord]
}
