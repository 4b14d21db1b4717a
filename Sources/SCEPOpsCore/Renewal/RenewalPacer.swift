import Foundation

/// How many renewals of one CA may start now: at most `maximumPerHour` in any hour, spread
/// out, so a fleet whose certificates fall due together does not reach the CA in the same
/// minute. After each start the next waits between half and one and a half of 3600/N
/// seconds (one gap on average), drawn from the time of that start: every replica that
/// reads the same starts from the state draws the same wait, so the limit and the spread
/// hold across replicas.
public struct RenewalPacer: Sendable, Hashable {
    /// The default of `renewal: {max_per_hour: N}`: ten a minute.
    public static let defaultPerHour = 600

    public var maximumPerHour: Int

    public init(maximumPerHour: Int = defaultPerHour) {
        self.maximumPerHour = max(maximumPerHour, 1)
    }

    public var gap: TimeInterval { 3600 / Double(maximumPerHour) }

    /// The earliest next start after one at `last`.
    public func next(after last: Date) -> Date {
        last.addingTimeInterval(gap * (0.5 + Self.jitter(last)))
    }

    /// `starts`: this CA's renewal starts so far (the last hour's suffice).
    public func admits(starts: [Date], now: Date) -> Int {
        let hour = starts.filter { now.timeIntervalSince($0) < 3600 }
        let left = maximumPerHour - hour.count
        guard left > 0 else { return 0 }
        guard let last = hour.max() else { return 1 }
        let next = next(after: last)
        guard now >= next else { return 0 }
        // A worker slower than the gap starts the ones that are owed, a minute's worth at most.
        let owed = 1 + Int(now.timeIntervalSince(next) / gap)
        return min(left, owed, Int((Double(maximumPerHour) / 60).rounded(.up)))
    }

    /// 0..<1, from the bits of a time (SplitMix64's finalizer).
    static func jitter(_ time: Date) -> Double {
        var bits = time.timeIntervalSince1970.bitPattern &+ 0x9E37_79B9_7F4A_7C15
        bits = (bits ^ (bits >> 30)) &* 0xBF58_476D_1CE4_E5B9
        bits = (bits ^ (bits >> 27)) &* 0x94D0_49BB_1331_11EB
        bits ^= bits >> 31
        return Double(bits >> 11) / Double(1 << 53)
    }
}
