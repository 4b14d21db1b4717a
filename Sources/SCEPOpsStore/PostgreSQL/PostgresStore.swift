import Foundation
import Logging
import Synchronization
import NIOSSL
import PostgresNIO
import SCEPOpsCore

/// The shared backend: a PostgreSQL database that any number of `serve` replicas and
/// commands use at once, through a pool of connections (postgres-nio).
public final class PostgresStore: Sendable {
    let client: PostgresClient
    let box: SecretBox
    let location: PostgresLocation
    private let running: Task<Void, Never>
    /// The connections that hold apply leases, by owner.
    let leases = Mutex<[String: PostgresConnection]>([:])

    /// Connects, checks the key, and (read-write) migrates; `close()` when done.
    public static func open(_ location: PostgresLocation, box: SecretBox, access: StateAccess = .readWrite)
        async throws(StoreError) -> PostgresStore
    {
        let store = PostgresStore(location, box: box)
        do {
            try await store.prepare(access)
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    private init(_ location: PostgresLocation, box: SecretBox) {
        let tls: PostgresClient.Configuration.TLS =
            switch location.sslMode {
            case .disable: .disable
            case .prefer: .prefer(.makeClientConfiguration())
            case .require: .require(.makeClientConfiguration())
            }
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: tls)
        configuration.options.maximumConnections = 8
        configuration.options.connectionIdleTimeout = .seconds(60)
        // The pool's own log stays quiet (a lease asked for before `run()` got going, the
        // connection errors): what fails reaches the caller as a StoreError, whose message
        // masks the password, and the server logs that.
        var background = Logger(label: "scepops.postgres")
        background.logLevel = .critical
        let client = PostgresClient(configuration: configuration, backgroundLogger: background)
        self.client = client
        self.box = box
        self.location = location
        running = Task { await client.run() }
    }

    deinit {
        running.cancel()
    }

    /// For a connection outside the pool (the lease's).
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS =
            switch location.sslMode {
            case .disable: .disable
            case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        return PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: tls)
    }

    public func close() async {
        running.cancel()
        _ = await running.value
    }

    /// Each migration once, under an advisory lock: replicas that start together migrate
    /// one after the other. The key check is sealed in on first use.
    private func prepare(_ access: StateAccess) async throws(StoreError) {
        let known = PostgresSchema.migrations.map(\.id)
        if access == .readWrite {
            try await transaction { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(5343504)", logger: postgresLog)
                try await connection.query(
                    "CREATE TABLE IF NOT EXISTS scepops_migration (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)",
                    logger: postgresLog)
                let applied = try await connection.rows("SELECT id FROM scepops_migration", postgresLog).map { try $0.get("id", String.self) }
                try Self.checkNewer(applied, known: known, location: self.location)
                for migration in PostgresSchema.migrations where !applied.contains(migration.id) {
                    for statement in Self.statements(migration.sql) {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: postgresLog)
                    }
                    try await connection.query(
                        "INSERT INTO scepops_migration (id, applied_at) VALUES (\(migration.id), \(Self.timestamp()))",
                        logger: postgresLog)
                }
            }
        } else {
            let applied: [String] = try await read { connection in
                let exists = try await connection.rows("SELECT to_regclass('scepops_migration') IS NOT NULL AS ours", postgresLog)
                guard try exists.first?.get("ours", Bool.self) == true else {
                    throw StoreError(.notAState, "\(self.location) holds no scepops state; `scepops apply` creates it")
                }
                return try await connection.rows("SELECT id FROM scepops_migration", postgresLog).map { try $0.get("id", String.self) }
            }
            try Self.checkNewer(applied, known: known, location: location)
            guard Set(applied) == Set(known) else {
                throw StoreError(.database, "the state database \(location) has an older schema; `scepops apply` or `scepops serve` upgrades it")
            }
        }
        let sealed: Data? = try await read { connection in
            try await connection.rows("SELECT value FROM meta WHERE key = 'key_check'", postgresLog).first?.get("value", Data?.self)
        }
        if let sealed {
            guard (try? box.open([UInt8](sealed))) == SQLiteStore.keyCheck else { throw SecretBox.wrongKey }
        } else if access == .readWrite {
            let value = Data(box.seal(SQLiteStore.keyCheck))
            try await write { connection in
                try await connection.query(
                    "INSERT INTO meta (key, value) VALUES ('key_check', \(value)) ON CONFLICT (key) DO NOTHING", logger: postgresLog)
            }
        }
    }

    /// A migration's statements, one by one (the extended protocol takes one at a time): split
    /// at each `;` that ends a line outside a `$$` body.
    static func statements(_ sql: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var inBody = false
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            current += line + "\n"
            if line.components(separatedBy: "$$").count % 2 == 0 { inBody.toggle() }
            if !inBody, line.hasSuffix(";") {
                statements.append(current)
                current = ""
            }
        }
        if !current.allSatisfy(\.isWhitespace) { statements.append(current) }
        return statements
    }

    private static func checkNewer(_ applied: [String], known: [String], location: PostgresLocation) throws(StoreError) {
        let newer = Set(applied).subtracting(known)
        guard newer.isEmpty else {
            throw StoreError(
                .newerSchema,
                "the state database \(location) was written by a newer scepops (schema \(newer.sorted().joined(separator: ", "))); use that version or a later one")
        }
    }

    // MARK: - Access

    /// How long a request waits for a connection: a database that cannot be reached is an
    /// error (a 503 for the server) in that time, never a hang.
    static let connectTimeout: Duration = .seconds(5)

    /// A pooled connection for `body`, or `.busy` when none comes within `connectTimeout`.
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let leased = Flag()
        let client = client
        let location = location
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await client.withConnection { connection in
                    leased.value.withLock { $0 = true }
                    return try await body(connection)
                }
            }
            group.addTask {
                try await Task.sleep(for: Self.connectTimeout)
                guard leased.value.withLock({ $0 }) else {
                    throw StoreError(.busy, "the state database \(location) cannot be reached")
                }
                return nil
            }
            while let result = try await group.next() {
                if let value = result {
                    group.cancelAll()
                    return value
                }
            }
            throw CancellationError()
        }
    }

    private final class Flag: Sendable {
        let value = Mutex(false)
    }

    /// One statement or several, outside a transaction (each autocommits).
    @discardableResult
    func read<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(StoreError) -> T {
        do {
            return try await withConnection(body)
        } catch {
            throw databaseError(error)
        }
    }

    /// One transaction: committed when `body` returns, rolled back when it throws.
    ///
    /// One that PostgreSQL chose to abort (a deadlock between replicas that write the same
    /// hosts in another order, or a serialization failure) runs again: nothing of it was
    /// kept, and the next try usually goes through. Every other error is final.
    @discardableResult
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(StoreError) -> T {
        var attempt = 0
        while true {
            do {
                return try await withConnection { connection in
                    try await connection.query("BEGIN", logger: postgresLog)
                    do {
                        let value = try await body(connection)
                        try await connection.query("COMMIT", logger: postgresLog)
                        return value
                    } catch {
                        _ = try? await connection.query("ROLLBACK", logger: postgresLog)
                        throw error
                    }
                }
            } catch let error as PSQLError where Self.abortedByServer(error) && attempt < Self.transactionRetries {
                attempt += 1
                try? await Task.sleep(for: .milliseconds(Int.random(in: 5...20) << attempt))
            } catch {
                throw databaseError(error)
            }
        }
    }

    static let transactionRetries = 4

    /// A deadlock (40P01) or a serialization failure (40001).
    static func abortedByServer(_ error: PSQLError) -> Bool {
        error.serverInfo?[.sqlState].map { ["40001", "40P01"].contains($0) } ?? false
    }

    @discardableResult
    func write<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(StoreError) -> T {
        try await transaction(body)
    }

    /// What a user reads: the server's message, the URL with its password masked.
    func databaseError(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? PSQLError {
            if let state = error.serverInfo?[.sqlState], ["40001", "40P01", "55P03"].contains(state) {
                return StoreError(.busy, "the state database \(location) is busy: \(error.serverInfo?[.message] ?? state)")
            }
            if let message = error.serverInfo?[.message] {
                return StoreError(.database, "the state database \(location): \(message)")
            }
            if error.code == .connectionError || error.code == .serverClosedConnection || error.code == .uncleanShutdown {
                return StoreError(.busy, "the state database \(location) cannot be reached")
            }
            return StoreError(.database, "the state database \(location): \(error.code)")
        }
        return StoreError(.database, "the state database \(location) cannot be reached")
    }

    static func timestamp(_ date: Date = Date()) -> String { SQLiteStore.timestamp(date) }
    static func date(_ text: String?) -> Date? { SQLiteStore.date(text) }
}

/// Queries log nothing: a failure reaches the caller as a StoreError, and a query's text
/// is no business of the server's log.
let postgresLog: Logger = {
    var postgresLog = Logger(label: "scepops.postgres")
    postgresLog.logLevel = .critical
    return postgresLog
}()

extension PostgresConnection {
    /// Every row of a query, with columns by name.
    func rows(_ query: PostgresQuery, _ logger: Logger) async throws -> [PostgresRandomAccessRow] {
        try await self.query(query, logger: postgresLog).collect().map { $0.makeRandomAccess() }
    }

    @discardableResult
    func run(_ query: PostgresQuery, _ logger: Logger) async throws -> Int {
        try await self.query(query, logger: postgresLog).collect().count
    }
}

extension PostgresRandomAccessRow {
    func get<T: PostgresDecodable>(_ column: String, _ type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self)
    }
}

// MARK: - Closed sets, stored by their raw values

extension HostCommandKind: PostgresCodable {}
extension DeliveryStatus: PostgresCodable {}
extension DeliveryOperation: PostgresCodable {}
extension OutboxStatus: PostgresCodable {}
extension ApplyResult: PostgresCodable {}
