import Foundation
import GRDB
import SCEPOpsCore

extension SQLiteStore: TokenStore {
    public func createToken(_ token: APIToken, digest: String) async throws(StoreError) -> Bool {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO api_token (name, role, digest, created_at, expires_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (name) DO NOTHING
                    """,
                arguments: [
                    token.name, token.role.rawValue, digest, Self.timestamp(token.createdAt), token.expiresAt.map { Self.timestamp($0) },
                ])
            return db.changesCount == 1
        }
    }

    public func tokens() async throws(StoreError) -> [APIToken] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_token ORDER BY name").map(Self.apiToken)
        }
    }

    public func revokeToken(name: String, now: Date) async throws(StoreError) -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE api_token SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", arguments: [Self.timestamp(now), name])
            return db.changesCount == 1
        }
    }

    public func useToken(digest: String, now: Date) async throws(StoreError) -> APIToken? {
        try await write { db in
            try db.execute(sql: "UPDATE api_token SET last_used_at = ? WHERE digest = ?", arguments: [Self.timestamp(now), digest])
            return try Row.fetchOne(db, sql: "SELECT * FROM api_token WHERE digest = ?", arguments: [digest]).map(Self.apiToken)
        }
    }

    static func apiToken(_ row: Row) -> APIToken {
        APIToken(
            name: row["name"], role: TokenRole(rawValue: row["role"]) ?? .read, createdAt: date(row["created_at"]) ?? .distantPast,
            expiresAt: date(row["expires_at"]), revokedAt: date(row["revoked_at"]), lastUsedAt: date(row["last_used_at"]))
    }
}
