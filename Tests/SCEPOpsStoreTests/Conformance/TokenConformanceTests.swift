import Foundation
import SCEPOpsCore
import SCEPOpsStore
import SCEPOpsTestSupport
import Testing

@Suite("Store conformance: API tokens")
struct TokenConformanceTests {
    @Test(arguments: BackendFactory.all)
    func tokensAreKeptAsDigestsUsedStampedAndRevoked(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend, applied: nil)
        let store = fixture.store
        let created = Date(timeIntervalSince1970: 1_800_000_000)
        let secret = APITokenSecret.generate()
        let token = APIToken(name: "ci-plan", role: .plan, createdAt: created, expiresAt: created.addingTimeInterval(86_400))
        #expect(try await store.createToken(token, digest: APITokenSecret.digest(secret)))
        #expect(!(try await store.createToken(APIToken(name: "ci-plan", role: .apply, createdAt: created), digest: "other")), "one name, one token")
        #expect(try await store.tokens() == [token])

        let used = created.addingTimeInterval(60)
        var expected = token
        expected.lastUsedAt = used
        #expect(try await store.useToken(digest: APITokenSecret.digest(secret), now: used) == expected)
        #expect(try await store.useToken(digest: APITokenSecret.digest("scepops_made-up"), now: used) == nil)
        #expect(try await store.tokens().first?.lastUsedAt == used)

        #expect(try await store.revokeToken(name: "ci-plan", now: used))
        #expect(!(try await store.revokeToken(name: "ci-plan", now: used)), "already revoked")
        #expect(!(try await store.revokeToken(name: "nobody", now: used)))
        #expect(try await store.useToken(digest: APITokenSecret.digest(secret), now: used)?.revokedAt == used)

        // The state holds the digest, never the token.
        let contents: [Data] =
            switch fixture.location {
            case .file(let path): await TestBackend.sqlite.contents(of: path)
            case .postgres(let database):
                await TestBackend.postgres.contents(of: try #require(PostgresTestServer.url).replacingOccurrences(
                    of: "/postgres?", with: "/\(database.database)?"))
            }
        #expect(!contents.isEmpty)
        #expect(contents.allSatisfy { !String(decoding: $0, as: UTF8.self).contains(secret) })
    }
}
