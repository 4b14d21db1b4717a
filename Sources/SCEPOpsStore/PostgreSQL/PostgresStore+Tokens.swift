import Foundation
import PostgresNIO
import SCEPOpsCore

extension PostgresStore: TokenStore {
    public func createToken(_ token: APIToken, digest: String) async throws(StoreError) -> Bool {
        let created = Self.timestamp(token.createdAt)
        let expires = token.expiresAt.map { Self.timestamp($0) }
        return try await write { connection in
            try await !connection.rows(
                """
                INSERT INTO api_token (name, role, digest, created_at, expires_at)
                VALUES (\(token.name), \(token.role.rawValue), \(digest), \(created), \(expires))
                ON CONFLICT (name) DO NOTHING RETURNING name
                """, postgresLog
            ).isEmpty
        }
    }

    public func tokens() async throws(StoreError) -> [APIToken] {
        try await read { connection in
            try await connection.rows("SELECT * FROM api_token ORDER BY name", postgresLog).map(Self.apiToken)
        }
    }

    public func revokeToken(name: String, now: Date) async throws(StoreError) -> Bool {
        let stamp = Self.timestamp(now)
        return try await write { connection in
            try await !connection.rows(
                "UPDATE api_token SET revoked_at = \(stamp) WHERE name = \(name) AND revoked_at IS NULL RETURNING name", postgresLog
            ).isEmpty
        }
    }

    public func useToken(digest: String, now: Date) async throws(StoreError) -> APIToken? {
        let stamp = Self.timestamp(now)
        return try await write { connection in
            try await connection.rows(
                "UPDATE api_token SET last_used_at = \(stamp) WHERE digest = \(digest) RETURNING *", postgresLog
            ).first.map(Self.apiToken)
        }
    }

    static func apiToken(_ row: PostgresRandomAccessRow) throws -> APIToken {
        APIToken(
            name: try row.get("name"), role: TokenRole(rawValue: try row.get("role", String.self)) ?? .read,
            createdAt: date(try row.get("created_at")) ?? .distantPast, expiresAt: date(try row.get("expires_at", String?.self)),
            revokedAt: date(try row.get("revoked_at", String?.self)), lastUsedAt: date(try row.get("last_used_at", String?.self)))
    }
}
