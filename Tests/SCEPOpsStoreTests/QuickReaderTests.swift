import Foundation
import GRDB
import SCEPOpsCore
@testable import SCEPOpsStore
import SCEPOpsTestSupport
import Testing

/// The SQLite backend's hottest reads, run on the caller's thread: the same answers as
/// through GRDB, and never a wait.
@Suite("SQLite quick reads")
struct QuickReaderTests {
    private func sqlite(_ fixture: StoreFixture) throws -> (SQLiteStore, QuickReader) {
        let store = try #require(fixture.store as? SQLiteStore)
        return (store, try #require(store.quick))
    }

    @Test func theQuickReadsAnswerAsGRDBDoes() async throws {
        let fixture = try await StoreFixture(BackendFactory.sqlite)
        let (store, quick) = try sqlite(fixture)
        guard case .success = try await store.authenticate(host: "H1", serial: nil, team: "Workstations", identity: "id-1", now: Date())
        else { Issue.record("H1 not enrolled"); return }
        let identifier = try #require(try await fixture.ready().values.first)
        let now = Date()
        var lookups: [[String]] = [
            [identifier.certificateAuthority, identifier.host, identifier.profile], ["VPN", identifier.host, identifier.profile],
            [identifier.certificateAuthority, "H9", identifier.profile],
        ]
        for arguments in lookups {
            let quickly = quick.read(SQLiteStore.upstreamLookup, arguments, SQLiteStore.upstream)
            let throughGRDB = try await store.pool.read { db in
                try SQLiteStore.firstRow(db.makeStatement(sql: SQLiteStore.upstreamLookup), StatementArguments(arguments), SQLiteStore.upstream)
            }
            #expect(quickly != nil && quickly == throughGRDB, "\(arguments)")
        }
        #expect(try quick.read(SQLiteStore.upstreamLookup, lookups[0], SQLiteStore.upstream)?.get().url.hasPrefix("http") == true)
        lookups = [["id-1", "H1", "H1"], ["id-evil", "H1", "H1"], ["id-1", "H9", "H9"]]
        for arguments in lookups {
            let quickly = quick.read(SQLiteStore.idlePollLookup, arguments) { SQLiteStore.idlePoll($0, host: arguments[1], now: now) }
            let throughGRDB = try await store.pool.read { db in
                try SQLiteStore.firstRow(db.makeStatement(sql: SQLiteStore.idlePollLookup), StatementArguments(arguments)) {
                    SQLiteStore.idlePoll($0, host: arguments[1], now: now)
                }
            }
            #expect(quickly != nil && quickly == throughGRDB, "\(arguments)")
        }
        #expect(quick.read(SQLiteStore.idlePollLookup, lookups[0]) { SQLiteStore.idlePoll($0, host: "H1", now: now) } == .report)
        #expect(quick.read(SQLiteStore.identityOwner, ["id-1"]) { SQLiteStore.owner($0, is: "H1") } == true)
        #expect(quick.read(SQLiteStore.identityOwner, ["id-1"]) { SQLiteStore.owner($0, is: "H9") } == false)
        // A value is read whole, both ways: cut at a NUL, `H1\0evil` would own what `H1` owns.
        let cut = "SELECT 'H1' || char(0) || 'evil', 7"
        #expect(quick.read(cut, []) { $0?.text(0) } == "H1\u{0}evil")
        #expect(quick.read(cut, []) { SQLiteStore.owner($0, is: "H1") } == false)
        let (text, owner, integer) = try await store.pool.read { db in
            try SQLiteStore.firstRow(db.makeStatement(sql: cut), []) { ($0?.text(0), SQLiteStore.owner($0, is: "H1"), $0?.text(1)) }
        }
        #expect(text == "H1\u{0}evil" && !owner && integer == nil, "an integer is not text")
    }

    /// A database another connection holds exclusively is left to GRDB at once (which waits
    /// for it, on a queue of its own): a request's thread never waits on a lock here.
    @Test func aLockedDatabaseIsLeftToGRDBWithoutWaiting() throws {
        let folder = TempRepo()
        let path = folder.path + "/locked.db"
        let setup = try DatabaseQueue(path: path)
        try setup.inDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)")
        }
        try setup.close()
        let quick = QuickReader(path: path, limit: 2)
        let value = { (row: QuickReader.Row?) in row?.integer(0) }
        let holder = try DatabaseQueue(path: path)
        try holder.inDatabase { db in
            // Exclusive before the first read: no other connection may read until it ends.
            try db.execute(sql: "PRAGMA locking_mode = EXCLUSIVE")
            try db.execute(sql: "BEGIN EXCLUSIVE")
            try db.execute(sql: "UPDATE t SET x = 2")
            let began = ContinuousClock.now
            #expect(quick.read("SELECT x FROM t", [], value) == nil)
            #expect(ContinuousClock.now - began < .seconds(1), "no busy timeout is waited")
            try db.execute(sql: "COMMIT")
        }
        try holder.close()
        #expect(quick.read("SELECT x FROM t", [], value) == 2)
    }

    /// With every connection in use a read gives way rather than wait for one.
    @Test func aReaderWithEveryConnectionInUseGivesWay() async throws {
        let fixture = try await StoreFixture(BackendFactory.sqlite)
        let (store, _) = try sqlite(fixture)
        let teams = try await store.pool.read { db in try Int64.fetchOne(db, sql: "SELECT count(*) FROM team") }
        #expect(teams ?? 0 > 0)
        let quick = QuickReader(path: store.path, limit: 1)
        let count = { (row: QuickReader.Row?) in row?.integer(0) }
        let nested = quick.read("SELECT count(*) FROM team", []) { row in
            (count(row), quick.read("SELECT count(*) FROM team", [], count))
        }
        #expect(nested?.0 == teams && nested?.1 == nil)
        #expect(quick.read("SELECT count(*) FROM team", [], count) == teams, "the connection came back")
        #expect(quick.read("DELETE FROM team", [], count) == nil, "reads only")
        #expect(quick.read("SELECT count(*) FROM team", [], count) == teams)
    }
}
