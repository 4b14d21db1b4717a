import Foundation
import GRDB
import SCEPOpsCore
import SCEPOpsStore
import SCEPOpsTestSupport
import Testing

/// What only the SQLite backend promises.
@Suite("SQLite store")
struct SQLiteStoreTests {
    let box = try! SecretBox(key: Array(repeating: 7, count: 32))

    @Test func sqliteRunsInWALWithForeignKeysAndAnAppendOnlyHistory() async throws {
        let fixture = try await StoreFixture(BackendFactory.sqlite)
        let queue = try DatabaseQueue(path: fixture.folder.path + "/state.db")
        try queue.inDatabase { db in
            #expect(try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal")
            #expect(throws: DatabaseError.self) { try db.execute(sql: "DELETE FROM apply") }
            #expect(throws: DatabaseError.self) { try db.execute(sql: "UPDATE apply SET actor = 'mallory'") }
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // The CA-name rule, kept by the database too: a CA in use cannot be deleted.
            #expect(throws: DatabaseError.self) { try db.execute(sql: "DELETE FROM certificate_authority WHERE name = 'WIFI'") }
        }
    }

    /// On a local file the lease also expires (a shared database's lease is a session lock,
    /// free as soon as its holder's session ends).
    @Test func anExpiredLeaseIsTakenOver() async throws {
        let store = try await StoreFixture(BackendFactory.sqlite, applied: nil).store
        #expect(try await store.acquireLease(Lease(owner: "carol", host: "h", pid: getpid(), commit: nil, ttl: -1, wait: 0)) == nil)
        let takeover = try await store.acquireLease(Lease(owner: "bob", host: "h", pid: getpid(), commit: nil, ttl: 600, wait: 0))
        #expect(takeover?.contains("took over the lease of carol") == true)
        #expect(takeover?.contains("expired") == true)
    }

    @Test func theWrongKeyIsRefusedAtOpen() throws {
        let folder = TempRepo()
        _ = try SQLiteStore(path: folder.path + "/state.db", box: box)
        let other = try SecretBox(key: Array(repeating: 9, count: 32))
        #expect {
            _ = try SQLiteStore(path: folder.path + "/state.db", box: other)
        } throws: { ($0 as? StoreError)?.message.hasPrefix("the state was encrypted with a different key") == true }
    }
}

@Suite("Secret box")
struct SecretBoxTests {
    let box = try! SecretBox(key: Array(repeating: 1, count: 32))

    @Test func sealsAndOpens() throws {
        let sealed = box.seal(Secret("correct horse battery staple"))
        #expect(try box.openSecret(sealed).revealed == "correct horse battery staple")
        #expect(box.seal(Secret("same")) != box.seal(Secret("same")), "a fresh nonce each time")
        #expect(sealed.firstRange(of: Array("horse".utf8)) == nil)
    }

    @Test func aWrongKeyOrATamperedSealNeverYieldsGarbage() throws {
        let sealed = box.seal(Secret("s3cret"))
        let other = try SecretBox(key: Array(repeating: 2, count: 32))
        #expect(throws: StoreError.self) { try other.open(sealed) }
        var tampered = sealed
        tampered[tampered.count / 2] ^= 0x01
        #expect(throws: StoreError.self) { try box.open(tampered) }
        #expect(throws: StoreError.self) { try box.open(Array(sealed.prefix(10))) }
    }

    /// Proxy tokens are base64url (32 characters, no padding); command UUIDs are version 4,
    /// upper-case as devices write them; neither repeats.
    @Test func tokensAndCommandUUIDsAreRandomAndWellFormed() throws {
        let tokens = (0..<500).map { _ in SecretBox.randomToken() }
        #expect(Set(tokens).count == tokens.count)
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        #expect(tokens.allSatisfy { $0.count == 32 && $0.allSatisfy(alphabet.contains) })
        #expect(tokens.contains { $0.contains("-") } && tokens.contains { $0.contains("_") })
        let uuids = (0..<500).map { _ in SecretBox.randomUUID() }
        #expect(Set(uuids).count == uuids.count)
        for uuid in uuids {
            let parsed = try #require(UUID(uuidString: uuid))
            #expect(parsed.uuidString == uuid)
            #expect(Array(uuid)[14] == "4" && "89AB".contains(Array(uuid)[19]))
        }
    }

    @Test func digestsAreKeyed() throws {
        let other = try SecretBox(key: Array(repeating: 2, count: 32))
        #expect(box.digest(Secret("x")) == box.digest(Secret("x")))
        #expect(box.digest(Secret("x")) != other.digest(Secret("x")))
        #expect(box.digest(Secret("x")).count == 64)
        #expect(throws: StoreError.self) { _ = try SecretBox(key: [1, 2, 3]) }
    }
}
