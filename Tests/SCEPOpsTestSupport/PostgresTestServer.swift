import Foundation
import SCEPOpsCore

/// The private PostgreSQL that `ci/test` starts (`ci/postgres`): its URL comes in
/// `SCEPOPS_TEST_POSTGRES`. Each test gets a database of its own.
public enum PostgresTestServer {
    /// The server's admin URL, with its password; nil when no server was started.
    public static var url: String? {
        ProcessInfo.processInfo.environment["SCEPOPS_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Creates an empty database and returns its URL.
    public static func makeDatabase() throws -> String {
        guard let url else { throw Failure(message: "SCEPOPS_TEST_POSTGRES is not set: run the tests with ci/test") }
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let result = Command.run("/usr/bin/psql", [url, "-v", "ON_ERROR_STOP=1", "-qc", "CREATE DATABASE \(name)"])
        guard result.status == 0 else { throw Failure(message: "psql: \(result.stderr)") }
        return url.replacingOccurrences(of: "/postgres?", with: "/\(name)?")
    }

    /// `makeDatabase` for async code, off the cooperative threads (`Blocking`).
    public static func makeDatabase() async throws -> String {
        try await Blocking.run { try makeDatabase() }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }
}

/// The backends a CLI or server test runs on: PostgreSQL joins SQLite when `ci/test`
/// started a server.
public enum TestBackend: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite = "SQLite"
    case postgres = "PostgreSQL"

    public static var all: [TestBackend] { PostgresTestServer.url == nil ? [.sqlite] : [.sqlite, .postgres] }

    public var description: String { rawValue }

    /// `--db` for a new, empty state: a file in `folder`, or a fresh database's URL.
    public func database(in folder: String) throws -> String {
        switch self {
        case .sqlite: folder + "/state.db"
        case .postgres: try PostgresTestServer.makeDatabase()
        }
    }

    /// `database(in:)` for async code, off the cooperative threads.
    public func database(in folder: String) async throws -> String {
        try await Blocking.run { try database(in: folder) }
    }

    /// Everything the state holds, as bytes to search: the files, or a dump of the database.
    public func contents(of database: String) -> [Data] {
        switch self {
        case .sqlite:
            [database, database + "-wal", database + "-shm"].compactMap { FileManager.default.contents(atPath: $0) }
        case .postgres:
            [Data(Command.run("/usr/bin/pg_dump", ["--data-only", database]).stdout.utf8)]
        }
    }

    /// `contents(of:)` for async code, off the cooperative threads.
    public func contents(of database: String) async -> [Data] {
        await Blocking.run { contents(of: database) }
    }

    /// The database password in a URL: a secret like the others.
    public static func password(in database: String) -> String? {
        guard database.hasPrefix("postgres://"), let components = URLComponents(string: database) else { return nil }
        return components.password
    }
}

/// A PostgreSQL server of a test's own (`ci/postgres`), for what the shared one must not
/// suffer: an outage. Stopped, by its pid, when the test ends.
public final class PrivatePostgres: @unchecked Sendable {
    let folder = TempRepo()
    public let url: String
    var directory: String { folder.path + "/postgres" }

    public init() throws {
        let started = Self.control("start", folder.path + "/postgres")
        guard started.status == 0, let url = try? String(contentsOfFile: folder.path + "/postgres/url", encoding: .utf8) else {
            throw PostgresTestServer.Failure(message: "ci/postgres start: \(started.stderr)")
        }
        self.url = url.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `init` for async code: `initdb` takes seconds, off the cooperative threads (`Blocking`).
    public static func started() async throws -> PrivatePostgres {
        try await Blocking.run { try PrivatePostgres() }
    }

    /// The server stops; its data and port stay for `resume`.
    public func pause() { _ = Self.control("pause", directory) }
    public func resume() { _ = Self.control("resume", directory) }
    public func pause() async { await Blocking.run { self.pause() } }
    public func resume() async { await Blocking.run { self.resume() } }

    deinit { _ = Self.control("stop", directory) }

    private static func control(_ command: String, _ directory: String) -> Command.Result {
        Command.run("/bin/bash", [Command.packageRoot + "/ci/postgres", command, directory])
    }
}
