/// What an Idle poll needs, read at once: most MDM requests are Idle polls from bound hosts
/// with nothing to send, and they are answered from this one read.
public enum IdlePoll: Sendable, Hashable {
    /// The identity is not the host's: refused.
    case notBound
    /// Nothing to send and `last_seen` fresh enough: an empty answer, nothing written.
    case quiet
    /// A command is ready, or `last_seen` is due: the poll is reported (`MDMStore.report`).
    case report
}
