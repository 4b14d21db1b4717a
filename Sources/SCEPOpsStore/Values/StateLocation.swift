import Foundation
import SCEPOpsCore

/// Where a state lives, from `--db` or `$SCEPOPS_DB`: a `postgres://` URL selects
/// PostgreSQL, anything else is a SQLite file (the embedded default).
public enum StateLocation: Sendable, Hashable, CustomStringConvertible {
    case file(String)
    case postgres(PostgresLocation)

    public init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(StoreError) {
        self = PostgresLocation.isURL(text) ? .postgres(try PostgresLocation(text, environment: environment)) : .file(text)
    }

    /// As messages show it: a URL's password masked.
    public var description: String {
        switch self {
        case .file(let path): path
        case .postgres(let location): location.description
        }
    }

    /// Whether there is a state to open. A database server is asked when it is opened.
    public var exists: Bool {
        switch self {
        case .file(let path): FileManager.default.fileExists(atPath: path)
        case .postgres: true
        }
    }

    /// Opens the backend. A SQLite file is created by a read-write open; a PostgreSQL
    /// database gets its schema then. A file is opened on a thread of its own: creating,
    /// migrating and syncing it blocks, for seconds on a busy disk.
    public func open(box: SecretBox, access: StateAccess) async throws(StoreError) -> any StateBackend {
        switch self {
        case .file(let path): try await Blocking.run { () throws(StoreError) in try SQLiteStore(path: path, box: box, access: access) }
        case .postgres(let location): try await PostgresStore.open(location, box: box, access: access)
        }
    }
}

/// How a command opens the state.
public enum StateAccess: Sendable, Hashable {
    /// Opens the state, creating it when it does not exist, and migrates an older schema.
    case readWrite
    /// For the commands that promise not to write: needs read permission alone (SELECT on
    /// PostgreSQL), never migrates, and leaves the state as it was.
    case readOnly
}
