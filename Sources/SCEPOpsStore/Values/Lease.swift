import Foundation

/// An apply's claim on the state.
public struct Lease: Sendable, Hashable {
    public var owner: String
    public var host: String
    public var pid: Int32
    public var commit: String?
    public var ttl: TimeInterval
    /// How long to wait for a held lease before giving up; 0 fails at once.
    public var wait: TimeInterval

    public init(owner: String, host: String, pid: Int32, commit: String?, ttl: TimeInterval, wait: TimeInterval) {
        self.owner = owner
        self.host = host
        self.pid = pid
        self.commit = commit
        self.ttl = ttl
        self.wait = wait
    }
}
