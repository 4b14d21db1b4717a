import Foundation
import SCEPOpsCore

/// What the profile worker reads and writes.
public protocol DeliveryStore: Sendable {
    /// Drops each unassigned command that a later one for the same host and profile
    /// supersedes, so a host gets the latest only. Once per cycle, before rendering.
    func dropSupersededCommands() async throws(StoreError)
    /// Unassigned commands in queue order, at most `limit`, leaving those whose backoff
    /// runs past `now`. A read: see `claimCommands` for the worker's.
    func pendingCommands(limit: Int, now: Date) async throws(StoreError) -> [PendingCommand]
    /// Like `pendingCommands`, but each command returned is this worker's until
    /// `now + lifetime`: no other worker is handed it meanwhile, and one that dies with a
    /// claim leaves it to the others once it expires (`FOR UPDATE SKIP LOCKED` on PostgreSQL).
    func claimCommands(limit: Int, now: Date, lifetime: TimeInterval) async throws(StoreError) -> [PendingCommand]
    /// Writes a batch in one transaction: the command's uuid, its token, the delivery `sent`.
    /// A command that another worker assigned or dropped meanwhile is left as it is.
    func recordAssigned(_ commands: [AssignedCommand], tokenLifetime: TimeInterval) async throws(StoreError)
    /// Marks a delivery failed, with the reason a user will read.
    func failDelivery(_ command: PendingCommand, detail: String) async throws(StoreError)
    /// The CA's challenge, decrypted, for rendering only.
    func challenge(of name: String) async throws(StoreError) -> Secret?
    /// Queues ProfileList for enrolled hosts last asked before `cutoff`; returns how many.
    func queueProfileLists(before cutoff: Date, limit: Int) async throws(StoreError) -> Int
    /// Hosts given commands that have not been pushed yet, with a live token, at most
    /// `limit`, claimed until `now + lifetime` so that no other worker pushes them too.
    /// Marked in the same transaction as their commands, so a server that dies between the
    /// two leaves them due, to itself after a restart or to another server once the claim
    /// expires. Hosts due but without a live token are let go: there is nothing to push to.
    func pushesDue(limit: Int, now: Date, lifetime: TimeInterval) async throws(StoreError) -> [PushTarget]
    /// The hosts APNs took, refused or failed for good are no longer due; those it asked to
    /// retry stay due, and their claim is let go.
    func pushesDone(hosts: [String], retrying: [String]) async throws(StoreError)
    func markPushStale(host: String) async throws(StoreError)
    /// Commands queued or sent and not yet answered.
    func queueDepth() async throws(StoreError) -> Int
}
