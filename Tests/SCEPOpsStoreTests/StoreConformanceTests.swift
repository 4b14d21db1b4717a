import Foundation
import GRDB
import SCEPOpsCore
import SCEPOpsStore
import SCEPOpsTestSupport
import Testing

/// What every state backend must do, run against each one (today SQLite; PostgreSQL
/// will join the list).
typealias Backend = StateReader & ApplyWriter & LeaseStore & HostStore & StatusReader & ApplyHistoryReader

struct BackendFactory: Sendable, CustomTestStringConvertible {
    var name: String
    var open: @Sendable (_ folder: TempRepo, _ box: SecretBox) throws -> any Backend
    var testDescription: String { name }

    static let all = [
        BackendFactory(name: "SQLite") { folder, box in try SQLiteStore(path: folder.path + "/state.db", box: box) }
    ]
}

@Suite("State store conformance")
struct StoreConformanceTests {
    let box = try! SecretBox(key: Array(repeating: 7, count: 32))

    @discardableResult
    private func apply(_ store: any Backend, _ files: [String: String], environment: [String: String] = ValidRepo.environment)
        throws -> (Plan, ApplyRecord)
    {
        let desired = PlanningFixtures.desired(files, environment: environment)
        let plan = Planner(secretDigest: box.digest).plan(desired, against: try store.currentState())
        let record = try store.apply(
            ApplyRequest(plan: plan, desired: desired, planHash: "test", actor: "tests", version: "test"))
        return (plan, record)
    }

    @Test(arguments: BackendFactory.all)
    func appliedStateReadsBackAndReplansToNothing(_ backend: BackendFactory) throws {
        let folder = TempRepo()
        let store = try backend.open(folder, box)
        let (plan, record) = try apply(store, ValidRepo.files)
        #expect(plan.changes.count == 8)
        #expect(record.counts[.create] == 8)
        let state = try store.currentState()
        #expect(state.revision == 1)
        #expect(state.certificateAuthorities.keys.sorted() == ["VPN", "WIFI"])
        #expect(state.profiles.keys.sorted().map(\.description) == [
            "Kiosks/com.example.vpn", "Kiosks/com.example.wifi", "Workstations/com.example.vpn",
            "Workstations/com.example.wifi",
        ])
        let again = Planner(secretDigest: box.digest).plan(PlanningFixtures.desired(ValidRepo.files), against: state)
        #expect(again.changes == [])
        #expect(try store.applies().map(\.result) == ["applied"])
    }

    @Test(arguments: BackendFactory.all)
    func aTeamNameWithASlashAppliesAndRemovesCleanly(_ backend: BackendFactory) throws {
        let folder = TempRepo()
        let store = try backend.open(folder, box)
        var files = ValidRepo.files
        files["teams/kiosks.yml"] = ValidRepo.kiosks.replacingOccurrences(of: "name: Kiosks", with: "name: Kiosks/Lobby")
        try apply(store, files)
        try store.enroll(host: "H1", serial: nil, team: "Kiosks/Lobby")
        let state = try store.currentState()
        #expect(state.profiles.keys.contains(ProfileKey(team: "Kiosks/Lobby", identifier: "com.example.wifi")))
        #expect(Planner(secretDigest: box.digest).plan(PlanningFixtures.desired(files), against: state).changes == [])
        // Updating and deleting its profiles finds them by their typed key, not a split name.
        files["teams/kiosks.yml"] = ValidRepo.kiosks.replacingOccurrences(of: "name: Kiosks", with: "name: Kiosks/Lobby")
            .replacingOccurrences(of: "profiles/**/*.mobileconfig", with: "profiles/wifi.mobileconfig")
        let (plan, _) = try apply(store, files)
        #expect(plan.changes.map { "\($0.action.rawValue) \($0.name)" } == ["delete Kiosks/Lobby/com.example.vpn"])
        #expect(try store.queuedCommands(host: "H1").map(\.type.rawValue).last == "RemoveProfile")
    }

    @Test(arguments: BackendFactory.all)
    func aRenameQueuesRemoveProfileBeforeInstallProfileOnEveryHost(_ backend: BackendFactory) throws {
        let folder = TempRepo()
        let store = try backend.open(folder, box)
        let hosts = ["H1", "H2", "H3"]
        try apply(store, ValidRepo.files)
        for host in hosts { try store.enroll(host: host, serial: "S-\(host)", team: "Workstations") }
        // Joining the team queued its two profiles.
        #expect(try store.queuedCommands(host: "H1").map(\.type.rawValue) == ["InstallProfile", "InstallProfile"])
        let oldWifi = try #require(try store.status().profiles.first { $0.identifier == "com.example.wifi" && $0.team == "Workstations" }?.uuid)

        var renamed = ValidRepo.files
        renamed["certificate_authorities/wifi.yml"] = ValidRepo.wifiCA.replacingOccurrences(of: "name: WIFI", with: "name: WIFI_2026")
        renamed["profiles/wifi.mobileconfig"] = ValidRepo.profile(
            challenge: "$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_WIFI_2026", url: "$FLEET_VAR_CUSTOM_SCEP_PROXY_URL_WIFI_2026")
        try apply(store, renamed)
        let newWifi = try #require(try store.status().profiles.first { $0.identifier == "com.example.wifi" && $0.team == "Workstations" }?.uuid)
        #expect(newWifi != oldWifi, "a re-installed profile gets a new uuid, so old proxy URLs no longer match")
        for host in hosts {
            let commands = try store.queuedCommands(host: host).dropFirst(2)
            #expect(commands.map(\.type.rawValue) == ["RemoveProfile", "InstallProfile"])
            #expect(commands.map(\.profile) == [oldWifi, newWifi])
        }
        // Per host: the VPN profile from joining, the old Wi-Fi removal, the new install.
        #expect(try store.status().hostProfiles["pending"] == 9)
        #expect(try store.currentState().certificateAuthorities.keys.sorted() == ["VPN", "WIFI_2026"])
    }

    @Test(arguments: BackendFactory.all)
    func aNewChallengeRedeliversTheProfilesThatUseIt(_ backend: BackendFactory) throws {
        let store = try backend.open(TempRepo(), box)
        try apply(store, ValidRepo.files)
        try store.enroll(host: "K1", serial: nil, team: "Kiosks")
        var environment = ValidRepo.environment
        environment["VPN_CHALLENGE"] = "a-new-vpn-challenge"
        let (plan, _) = try apply(store, ValidRepo.files, environment: environment)
        #expect(plan.changes.map(\.hostsAffected) == [1])
        let vpn = try #require(try store.status().profiles.first { $0.team == "Kiosks" && $0.identifier == "com.example.vpn" })
        // After the two installs of joining Kiosks: the VPN profile once more.
        #expect(try store.queuedCommands(host: "K1").map(\.type.rawValue) == ["InstallProfile", "InstallProfile", "InstallProfile"])
        #expect(try store.queuedCommands(host: "K1").last?.profile == vpn.uuid)
    }

    @Test(arguments: BackendFactory.all)
    func hostsJoiningAndLeavingTeamsGetTheirProfilesQueued(_ backend: BackendFactory) throws {
        let store = try backend.open(TempRepo(), box)
        try apply(store, ValidRepo.files)
        try store.enroll(host: "M1", serial: nil, team: "Kiosks")
        try store.enroll(host: "M1", serial: nil, team: "Kiosks")
        #expect(try store.queuedCommands(host: "M1").count == 2, "enrolling again in the same team queues nothing")
        try store.enroll(host: "M1", serial: nil, team: nil)
        #expect(try store.queuedCommands(host: "M1").map(\.type.rawValue) == [
            "InstallProfile", "InstallProfile", "RemoveProfile", "RemoveProfile",
        ])
    }

    @Test(arguments: BackendFactory.all)
    func aStalePlanWritesNothing(_ backend: BackendFactory) throws {
        let store = try backend.open(TempRepo(), box)
        let desired = PlanningFixtures.desired(ValidRepo.files)
        let plan = Planner(secretDigest: box.digest).plan(desired, against: try store.currentState())
        try apply(store, ValidRepo.files)
        #expect {
            try store.apply(ApplyRequest(plan: plan, desired: desired, planHash: "x", actor: "t", version: "t"))
        } throws: { ($0 as? StoreError)?.code == .stalePlan }
        #expect(try store.currentState().revision == 1)
        #expect(try store.applies().count == 1)
    }

    @Test(arguments: BackendFactory.all)
    func theLeaseNamesItsHolderAndExpires(_ backend: BackendFactory) throws {
        let store = try backend.open(TempRepo(), box)
        let alive = Lease(owner: "alice@ci:1", host: "ci-runner", pid: getpid(), commit: "abc", ttl: 600, wait: 0)
        #expect(try store.acquireLease(alive) == nil)
        let other = Lease(owner: "bob@ci:2", host: "ci-runner", pid: getpid(), commit: nil, ttl: 600, wait: 0)
        #expect {
            _ = try store.acquireLease(other)
        } throws: { error in
            let error = error as? StoreError
            return error?.code == .locked && error?.message.contains("alice@ci:1") == true
        }
        try store.releaseLease(owner: "alice@ci:1")
        #expect(try store.acquireLease(Lease(owner: "carol", host: "h", pid: getpid(), commit: nil, ttl: -1, wait: 0)) == nil)
        let takeover = try store.acquireLease(other)
        #expect(takeover?.contains("took over the lease of carol") == true)
        #expect(takeover?.contains("expired") == true)
    }

    @Test func sqliteRunsInWALWithForeignKeysAndAnAppendOnlyHistory() throws {
        let folder = TempRepo()
        let store = try SQLiteStore(path: folder.path + "/state.db", box: box)
        try apply(store, ValidRepo.files)
        let queue = try DatabaseQueue(path: folder.path + "/state.db")
        try queue.inDatabase { db in
            #expect(try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal")
            #expect(throws: DatabaseError.self) { try db.execute(sql: "DELETE FROM apply") }
            #expect(throws: DatabaseError.self) { try db.execute(sql: "UPDATE apply SET actor = 'mallory'") }
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // The CA-name rule, kept by the database too: a CA in use cannot be deleted.
            #expect(throws: DatabaseError.self) { try db.execute(sql: "DELETE FROM certificate_authority WHERE name = 'WIFI'") }
        }
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

    @Test func digestsAreKeyed() throws {
        let other = try SecretBox(key: Array(repeating: 2, count: 32))
        #expect(box.digest(Secret("x")) == box.digest(Secret("x")))
        #expect(box.digest(Secret("x")) != other.digest(Secret("x")))
        #expect(box.digest(Secret("x")).count == 64)
        #expect(throws: StoreError.self) { _ = try SecretBox(key: [1, 2, 3]) }
    }
}
