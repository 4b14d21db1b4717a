import Foundation

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

    public struct Failure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }
}
