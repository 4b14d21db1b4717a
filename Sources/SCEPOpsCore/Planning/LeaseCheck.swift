import Foundation

/// Whether an apply may take the state's lease from its holder: when it expired, or when
/// the holder's process is known to be gone (a SQLite state is local, so a holder on the
/// same machine can be asked; a shared database judges by expiry alone).
public enum LeaseCheck {
    public struct Holder: Sendable, Hashable {
        public var owner: String
        public var host: String
        public var pid: Int32
        public var commit: String?
        public var acquiredAt: String
        public var expiresAt: String

        public init(owner: String, host: String, pid: Int32, commit: String?, acquiredAt: String, expiresAt: String) {
            self.owner = owner
            self.host = host
            self.pid = pid
            self.commit = commit
            self.acquiredAt = acquiredAt
            self.expiresAt = expiresAt
        }
    }

    public enum Decision: Sendable, Hashable {
        case free
        /// Taken over; the note says from whom and why, for the history.
        case takeOver(note: String)
        /// Held and alive; the message names the holder.
        case held(message: String)
    }

    public static func decide(_ holder: Holder?, now: Date, processGone: Bool) -> Decision {
        guard let holder else { return .free }
        let expired = (try? Date(holder.expiresAt, strategy: .iso8601)).map { $0 < now } ?? true
        guard expired || processGone else { return .held(message: heldMessage(holder)) }
        return .takeOver(
            note: "took over the lease of \(who(holder)), since \(holder.acquiredAt)): "
                + (processGone ? "its process is gone" : "it expired at \(holder.expiresAt)"))
    }

    /// What an apply refused by a live holder is told.
    public static func heldMessage(_ holder: Holder) -> String {
        let at = holder.commit.map { ", commit \(String($0.prefix(12)))" } ?? ""
        return
            "the state is locked by an apply of \(who(holder))\(at)) since \(holder.acquiredAt), until \(holder.expiresAt); wait for it with --lock-timeout, or try again later"
    }

    private static func who(_ holder: Holder) -> String {
        "\(holder.owner) (pid \(holder.pid) on \(holder.host)"
    }
}
