import Foundation

/// When an Idle poll must write: idle polls are the bulk of MDM traffic and should not
/// each take the write lock, so `last_seen` is kept to a resolution, and a poll writes only
/// when it is staler than that or the host has a command waiting.
public enum LastSeen {
    public static let resolution: TimeInterval = 60

    public static func idlePollWrites(lastSeen: Date?, hasReadyCommand: Bool, now: Date, resolution: TimeInterval = resolution)
        -> Bool
    {
        guard !hasReadyCommand, let lastSeen else { return true }
        return now.timeIntervalSince(lastSeen) >= resolution
    }
}
