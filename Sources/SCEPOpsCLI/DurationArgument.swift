import ArgumentParser
import Foundation
import SCEPOpsCore

/// A duration on the command line: `30s`, `5m`, `1h`, `7d`, `1h30m`, or a plain number of
/// seconds (`0.5`), and `0` where the flag gives zero a meaning. Help shows the default in
/// the same form.
struct DurationArgument: ExpressibleByArgument, Sendable, Equatable {
    let seconds: TimeInterval

    init(seconds: TimeInterval) { self.seconds = seconds }

    init?(argument: String) {
        if let plain = Double(argument), plain == 0 {
            seconds = 0
        } else if let seconds = DurationText.seconds(argument) {
            self.seconds = seconds
        } else {
            return nil
        }
    }

    static func seconds(_ seconds: TimeInterval) -> DurationArgument { .init(seconds: seconds) }

    var defaultValueDescription: String { seconds == 0 ? "0" : DurationText.format(seconds) }

    static var defaultCompletionKind: CompletionKind { .default }

    var duration: Duration { .milliseconds(Int64((seconds * 1000).rounded())) }

    /// Whole seconds, rounded up: for the settings that count in seconds.
    var wholeSeconds: Int { Int(seconds.rounded(.up)) }
}
