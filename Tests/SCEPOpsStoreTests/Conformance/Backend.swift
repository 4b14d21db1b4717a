import Foundation
import SCEPOpsCore
import SCEPOpsStore
import SCEPOpsTestSupport
import Testing

/// Every role a state backend implements.
typealias Backend = StateBackend

/// The backends the conformance suite runs against, each opened empty in a folder of its own.
struct BackendFactory: Sendable, CustomTestStringConvertible {
    var name: String
    /// Where a new, empty state of this backend lives.
    var make: @Sendable (_ folder: TempRepo) async throws -> StateLocation
    var testDescription: String { name }

    static let sqlite = BackendFactory(name: "SQLite") { folder in .file(folder.path + "/state.db") }
    static let postgres = BackendFactory(name: "PostgreSQL") { _ in try StateLocation(try await PostgresTestServer.makeDatabase()) }

    /// PostgreSQL runs when `ci/test` started one (it always does); a bare `swift test`
    /// runs SQLite alone.
    static let all = PostgresTestServer.url == nil ? [sqlite] : [sqlite, postgres]
}

/// A backend with the example config applied, and the steps the server takes on it.
struct StoreFixture {
    let folder = TempRepo()
    let box = try! SecretBox(key: Array(repeating: 7, count: 32))
    let store: any Backend
    let location: StateLocation

    init(_ backend: BackendFactory, applied files: [String: String]? = ValidRepo.files) async throws {
        location = try await backend.make(folder)
        store = try await location.open(box: box, access: .readWrite)
        if let files { try await apply(files) }
    }

    /// The same state opened once more: another server on it.
    func replica() async throws -> any Backend {
        try await location.open(box: box, access: .readWrite)
    }

    @discardableResult
    func apply(
        _ files: [String: String], environment: [String: String] = ValidRepo.environment,
        certificates: [String: CACertificate] = [:]
    ) async throws -> (Plan, ApplyRecord) {
        let desired = PlanningFixtures.desired(files, environment: environment)
        let plan = Planner(secretDigest: box.digest).plan(desired, against: try await store.currentState())
        let record = try await store.apply(
            ApplyRequest(plan: plan, desired: desired, certificates: certificates, planHash: "test", actor: "tests", version: "test"))
        return (plan, record)
    }

    /// Asks `host` for its ProfileList and CertificateList (the `round`th time: each asks
    /// an hour after the last) and answers with `installed` and `certificates`.
    func listCertificates(of host: String, round: Int, _ certificates: [ReportedCertificate], installed: [String] = []) async throws {
        _ = try await store.queueProfileLists(before: Date().addingTimeInterval(3600 * Double(round + 1)), limit: 10)
        try await ready()
        let queued = try await store.queuedCommands(host: host)
        let profiles = try #require(queued.last { $0.type == .profileList }?.commandUUID)
        _ = try await store.report(host: host, commandUUID: profiles, result: .profileList(installed))
        let list = try #require(queued.last { $0.type == .certificateList }?.commandUUID)
        _ = try await store.report(host: host, commandUUID: list, result: .certificateList(certificates))
    }

    /// A certificate of `profile` (its renewal id in the OU) valid for `days` from `start`.
    static func certificate(_ serial: String, profile: String, from start: Date, days: Double) -> ReportedCertificate {
        ReportedCertificate(
            HeldCertificate(
                subject: "CN=C02A,OU=\(RenewalID.of(profile: profile))", serial: serial, notBefore: start,
                notAfter: start.addingTimeInterval(days * 86_400), fingerprint: "fp-\(serial)"),
            isIdentity: false)
    }

    func profileUUID(_ team: String, _ identifier: String) async throws -> String {
        try #require(try await store.status().profiles.first { $0.team == team && $0.identifier == identifier }?.uuid)
    }

    /// Makes every pending command ready, as the worker does: a CommandUUID each, and a
    /// one-time token for an install that uses a CA. Returns the installs' proxy
    /// identifiers by profile uuid.
    @discardableResult
    func ready(tokenLifetime: TimeInterval = 3600, now: Date = Date()) async throws -> [String: ProxyIdentifier] {
        var identifiers: [String: ProxyIdentifier] = [:]
        var assigned: [AssignedCommand] = []
        for command in try await store.pendingCommands(limit: 1000, now: now) {
            let ca = command.type == .installProfile ? command.certificateAuthorities.first : nil
            let token = ca.map { _ in UUID().uuidString }
            assigned.append(
                AssignedCommand(
                    id: command.id, host: command.host, profile: command.profile, commandUUID: UUID().uuidString, token: token,
                    certificateAuthority: ca))
            if let ca, let token {
                identifiers[command.profile] = ProxyIdentifier(
                    host: command.host, profile: command.profile, certificateAuthority: ca, token: token)
            }
        }
        try await store.recordAssigned(assigned, tokenLifetime: tokenLifetime)
        return identifiers
    }

    /// The host fetches and acknowledges each ready command, as a device does.
    func acknowledgeAll(host: String) async throws {
        var answer: (String?, CommandResult) = (nil, .idle)
        while case .success(let next?) = try await store.report(host: host, commandUUID: answer.0, result: answer.1) {
            answer = (next.commandUUID, .acknowledged)
        }
    }

    func delivery(_ host: String, _ team: String, _ identifier: String) async throws -> [DeliveryStatus: Int] {
        try #require(try await store.status().profiles.first { $0.team == team && $0.identifier == identifier }?.hostProfiles)
    }
}

extension MDMStore {
    /// A report under the default re-delivery policy, as `serve` runs it.
    func report(host: String, commandUUID: String?, result: CommandResult) async throws -> Result<QueuedCommand?, MDMRefusal> {
        try await report(host: host, commandUUID: commandUUID, result: result, policy: RedeliveryPolicy())
    }
}
