import Foundation
import GRDB

extension SQLiteStore: StateTransfer {
    public func snapshot() async throws(StoreError) -> StateSnapshot {
        try await read { db in
            var rows: [String: [[StateSnapshot.Value]]] = [:]
            for table in StateSnapshot.tables {
                let sql = "SELECT \(table.columns.joined(separator: ", ")) FROM \(table.name) ORDER BY rowid"
                rows[table.name] = try Row.fetchAll(db, sql: sql).map { row in
                    table.columns.map { column in
                        switch (row[column] as DatabaseValue).storage {
                        case .null: .null
                        case .int64(let value): .integer(value)
                        case .double(let value): .integer(Int64(value))
                        case .string(let value): .text(value)
                        case .blob(let value): .bytes([UInt8](value))
                        }
                    }
                }
            }
            return StateSnapshot(revision: try Self.revision(db), rows: rows)
        }
    }

    public func restore(_ snapshot: StateSnapshot) async throws(StoreError) {
        try await write { db in
            try Self.requireEmpty(db, path: self.path)
            for table in StateSnapshot.tables {
                let marks = Array(repeating: "?", count: table.columns.count).joined(separator: ", ")
                let statement = try db.makeStatement(
                    sql: "INSERT INTO \(table.name) (\(table.columns.joined(separator: ", "))) VALUES (\(marks))")
                for row in snapshot.rows[table.name] ?? [] {
                    let values: [(any DatabaseValueConvertible)?] = row.map { value in
                        switch value {
                        case .null: nil
                        case .integer(let number): number
                        case .text(let text): text
                        case .bytes(let bytes): Data(bytes)
                        }
                    }
                    try statement.execute(arguments: StatementArguments(values))
                }
            }
            try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'revision'", arguments: [snapshot.revision])
        }
    }

    private static func requireEmpty(_ db: Database, path: String) throws {
        let used =
            try Int.fetchOne(db, sql: "SELECT (SELECT COUNT(*) FROM apply) + (SELECT COUNT(*) FROM host) + (SELECT COUNT(*) FROM team)")
            ?? 0
        guard used == 0, try revision(db) == 0 else {
            throw StoreError(.database, "the target state \(path) is not empty; copy into a new file or an empty database")
        }
    }
}
