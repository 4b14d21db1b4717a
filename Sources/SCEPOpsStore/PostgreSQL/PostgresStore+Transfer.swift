import Foundation
import PostgresNIO

extension PostgresStore: StateTransfer {
    public func snapshot() async throws(StoreError) -> StateSnapshot {
        try await transaction { connection in
            try await connection.run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", postgresLog)
            var rows: [String: [[StateSnapshot.Value]]] = [:]
            for table in StateSnapshot.tables {
                // The key orders rows as they were written: ids, then the natural keys.
                let sql = "SELECT \(table.columns.joined(separator: ", ")) FROM \(table.name) ORDER BY \(table.columns[0])"
                rows[table.name] = try await connection.rows(PostgresQuery(unsafeSQL: sql), postgresLog).map { row in
                    try table.columns.map { column in try Self.value(row[column]) }
                }
            }
            return StateSnapshot(revision: try await Self.revision(connection, postgresLog), rows: rows)
        }
    }

    private static func value(_ cell: PostgresCell) throws -> StateSnapshot.Value {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        case .bytea: return .bytes([UInt8](try cell.decode(Data.self)))
        default: return .text(try cell.decode(String.self))
        }
    }

    public func restore(_ snapshot: StateSnapshot) async throws(StoreError) {
        let location = location
        try await write { connection in
            let used = try await connection.rows(
                "SELECT (SELECT COUNT(*) FROM apply) + (SELECT COUNT(*) FROM host) + (SELECT COUNT(*) FROM team) AS used",
                postgresLog
            ).first?.get("used", Int64.self) ?? 0
            guard used == 0, try await Self.revision(connection, postgresLog, lock: true) == 0 else {
                throw StoreError(.database, "the target state \(location) is not empty; copy into a new file or an empty database")
            }
            for table in StateSnapshot.tables {
                let marks = (1...table.columns.count).map { "$\($0)" }.joined(separator: ", ")
                let sql = "INSERT INTO \(table.name) (\(table.columns.joined(separator: ", "))) VALUES (\(marks))"
                for row in snapshot.rows[table.name] ?? [] {
                    var binds = PostgresBindings()
                    for (column, value) in zip(table.columns, row) {
                        switch value {
                        case .null: binds.appendNull()
                        case .integer(let number) where table.booleans.contains(column): binds.append(number != 0)
                        case .integer(let number): binds.append(number)
                        case .text(let text): binds.append(text)
                        case .bytes(let bytes): try binds.append(Data(bytes))
                        }
                    }
                    try await connection.run(PostgresQuery(unsafeSQL: sql, binds: binds), postgresLog)
                }
            }
            // Identities continue after the copied ids.
            for table in ["apply", "command_outbox", "renewal_attempt"] {
                try await connection.run(
                    PostgresQuery(
                        unsafeSQL:
                            "SELECT setval(pg_get_serial_sequence('\(table)', 'id'), COALESCE((SELECT MAX(id) FROM \(table)), 0) + 1, false)"),
                    postgresLog)
            }
            try await connection.run("UPDATE meta SET number = \(snapshot.revision) WHERE key = 'revision'", postgresLog)
        }
    }
}
