import GRDBSQLite
import Synchronization

/// The one-statement reads the server makes on every request (the proxy's lookup, a signed
/// check-in's binding and Idle poll), run on the caller's thread over connections of their
/// own. Through GRDB each went to a reader's queue and back: its pool's bookkeeping and two
/// thread wake-ups, a third of a proxied GetCACert's CPU for a statement that takes
/// microseconds. Never waits: with every connection in use, or the database busy (no busy
/// timeout here) or failing, it answers nil and the caller reads through GRDB, which waits,
/// retries and reports the error as every other read does.
final class QuickReader: Sendable {
    /// What a statement's row is read through; nil for NULL.
    struct Row {
        fileprivate let statement: OpaquePointer

        /// Every byte SQLite holds: a value cut at a NUL could equal another one (a host
        /// `H1` and a host `H1\0…` must not be the same owner).
        func text(_ column: Int32) -> String? {
            guard sqlite3_column_type(statement, column) != SQLITE_NULL, let text = sqlite3_column_text(statement, column) else { return nil }
            // Counted after the text is made (SQLite's order for the two calls).
            let count = Int(sqlite3_column_bytes(statement, column))
            return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
        }

        func integer(_ column: Int32) -> Int64? {
            sqlite3_column_type(statement, column) == SQLITE_NULL ? nil : sqlite3_column_int64(statement, column)
        }
    }

    private let path: String
    /// Connections at most; a read past it is left to GRDB.
    let limit: Int
    private let pool = Mutex<(idle: [Connection], opened: Int)>(([], 0))

    init(path: String, limit: Int) {
        self.path = path
        self.limit = limit
    }

    /// `decode` gets the statement's first row (nil when there is none) and its answer is
    /// returned; nil when the statement could not be run here, or `decode` could not read it.
    func read<T>(_ sql: String, _ arguments: [String], _ decode: (Row?) -> T?) -> T? {
        guard let connection = checkOut() else { return nil }
        defer { pool.withLock { $0.idle.append(connection) } }
        return connection.run(sql, arguments, decode)
    }

    private func checkOut() -> Connection? {
        let reuse: Connection?? = pool.withLock { pool in
            if let idle = pool.idle.popLast() { return idle }
            guard pool.opened < limit else { return .some(nil) }
            pool.opened += 1
            return nil
        }
        if let reuse { return reuse }
        // Opened outside the lock; one that fails to open gives its place back.
        if let opened = Connection(path: path) { return opened }
        pool.withLock { $0.opened -= 1 }
        return nil
    }

    /// One SQLite connection and its prepared statements, used by one thread at a time.
    private final class Connection: @unchecked Sendable {
        let handle: OpaquePointer
        /// A few statements, found by their text: the same constant each time, which
        /// compares by its storage before any byte (hashing it took longer).
        var statements: [(sql: String, statement: OpaquePointer)] = []

        init?(path: String) {
            var handle: OpaquePointer?
            guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let handle,
                // Reads only, whatever a statement says.
                sqlite3_exec(handle, "PRAGMA query_only = 1", nil, nil, nil) == SQLITE_OK
            else {
                sqlite3_close_v2(handle)
                return nil
            }
            self.handle = handle
        }

        deinit {
            for (_, statement) in statements { sqlite3_finalize(statement) }
            sqlite3_close_v2(handle)
        }

        func run<T>(_ sql: String, _ arguments: [String], _ decode: (Row?) -> T?) -> T? {
            guard let statement = prepared(sql) else { return nil }
            defer {
                sqlite3_reset(statement)
                sqlite3_clear_bindings(statement)
            }
            for (index, argument) in arguments.enumerated() {
                // SQLITE_TRANSIENT: SQLite copies the text before this returns.
                let bound = sqlite3_bind_text(statement, Int32(index + 1), argument, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
                guard bound == SQLITE_OK else { return nil }
            }
            switch sqlite3_step(statement) {
            case SQLITE_ROW: return decode(Row(statement: statement))
            case SQLITE_DONE: return decode(nil)
            default: return nil
            }
        }

        private func prepared(_ sql: String) -> OpaquePointer? {
            if let found = statements.first(where: { $0.sql == sql }) { return found.statement }
            var statement: OpaquePointer?
            guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK, let statement else {
                return nil
            }
            statements.append((sql, statement))
            return statement
        }
    }
}
