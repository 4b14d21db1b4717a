import Foundation

/// The version plan files, the history and the API name, and the commit the running binary
/// was built from (stamped by the executable as it starts; "unknown" in a library or test).
public enum SCEPOpsVersion {
    public static let current = "0.1.0"

    public static var commit: String { stamped.value }

    /// `0.1.0 (commit 1a2b3c4d5e6f)`.
    public static var description: String { "\(current) (commit \(commit))" }

    public static func stamp(commit: String) { stamped.value = commit }

    private static let stamped = Stamp()

    private final class Stamp: @unchecked Sendable {
        private let lock = NSLock()
        private var commit = "unknown"
        var value: String {
            get { lock.withLock { commit } }
            set { lock.withLock { commit = newValue } }
        }
    }
}
