/// The store's one error type: a stable code and a message that never holds a secret.
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        case wrongKey = "wrong-key"
        case badKey = "bad-key"
        case keyFile = "key-file"
        case database = "database"
        case locked = "locked"
        case stalePlan = "stale-plan"
        case corrupt = "corrupt"
        case notAState = "not-a-state"
        case newerSchema = "newer-schema"
        /// The state is busy (another process holds its write lock): try again shortly.
        case busy = "busy"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
