import Foundation
import SCEPOpsCore
import SCEPOpsStore
import SCEPOpsTestSupport
import Synchronization
import Testing

/// What only the shared backend promises: servers on one database share their limits.
@Suite("PostgreSQL store", .enabled(if: PostgresTestServer.url != nil, "needs ci/test's PostgreSQL"))
struct PostgresStoreTests {
    /// How many bodies run at once, at most.
    final class Overlap: Sendable {
        let state = Mutex((now: 0, most: 0))
        func run() async throws {
            state.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
            try await Task.sleep(for: .milliseconds(150))
            state.withLock { $0.now -= 1 }
        }
        var most: Int { state.withLock { $0.most } }
    }

    @Test(arguments: [1, 2])
    func theUpstreamLimitHoldsPerCAAcrossServers(_ limit: Int) async throws {
        let fixture = try await StoreFixture(BackendFactory.postgres, applied: nil)
        let servers = [fixture.store, try await fixture.replica(), try await fixture.replica()]
        let overlap = Overlap()
        let other = Overlap()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<9 {
                let server = servers[index % 3]
                group.addTask { try await server.withUpstreamSlot(url: "http://ca.example/scep", limit: limit) { try await overlap.run() } }
                // Another CA's slots are its own.
                group.addTask { try await server.withUpstreamSlot(url: "http://other.example/scep", limit: 3) { try await other.run() } }
            }
            try await group.waitForAll()
        }
        #expect(overlap.most == limit)
        #expect(other.most >= 2, "another CA's slots are its own")
    }

    @Test func aBodysErrorComesThroughUnchanged() async throws {
        struct Refused: Error {}
        let store = try await StoreFixture(BackendFactory.postgres, applied: nil).store
        await #expect(throws: Refused.self) {
            try await store.withUpstreamSlot(url: "http://ca.example/scep", limit: 1) { () async throws -> Int in throw Refused() }
        }
        // The slot was let go.
        #expect(try await store.withUpstreamSlot(url: "http://ca.example/scep", limit: 1) { 7 } == 7)
    }
}
