import Foundation
import SCEPOpsCore

/// What the check-in and command channel read and write.
public protocol MDMStore: Sendable {
    /// The team whose enroll secret this is.
    func team(enrollSecret: Secret) async throws(StoreError) -> String?
    /// The team whose check-in reference (`SecretBox.checkInReference`) this is.
    func team(checkInReference: String) async throws(StoreError) -> String?
    /// At Authenticate: binds the identity to the host (`IdentityBinding` decides whether
    /// it may) and records the host in its team. A refusal changes nothing.
    func authenticate(host: String, serial: String?, team: String, identity: String, now: Date) async throws(StoreError)
        -> Result<Void, MDMRefusal>
    /// `scepops hosts allow-reenroll`: the host may bind a new identity until `until`, once.
    /// False when there is no such host.
    func allowReenrollment(host: String, until: Date) async throws(StoreError) -> Bool
    /// Every later request: the identity must be the host's own.
    func isBound(host: String, identity: String) async throws(StoreError) -> Bool
    /// An Idle poll's binding check and `LastSeen` decision in one read.
    func idlePoll(host: String, identity: String, now: Date) async throws(StoreError) -> IdlePoll
    func updatePush(host: String, token: String, pushMagic: String, topic: String) async throws(StoreError)
    /// CheckOut: the host leaves its team, and its identity may be replaced.
    func checkOut(host: String) async throws(StoreError)
    /// Records a command's result and returns the next command for the host, if any. An
    /// InstallProfile of a certificate profile that the device reports failed goes out again
    /// or fails as `policy` says.
    func report(host: String, commandUUID: String?, result: CommandResult, policy: RedeliveryPolicy)
        async throws(StoreError) -> Result<QueuedCommand?, MDMRefusal>
}
