import AsyncHTTPClient
import SCEP
import Foundation
import Hummingbird
import MDM
import NIOSSL
import NIOCore
import NIOHTTP1
import SCEPOpsCore
import SCEPOpsServer
import SCEPOpsStore
import SCEPOpsTestSupport

/// The server in process on a free loopback port, over a real state (a file, or a database on the
/// test PostgreSQL), in front of a real scepserver; one host enrolled in Workstations with its
/// Wi-Fi profile rendered.
final class ProxyHarness: @unchecked Sendable {
    let scep: SCEPServer
    let folder = TempRepo()
    let store: any StateBackend
    /// `--db` for the CLI: the state file, or the database's URL.
    let database: String
    let box = try! SecretBox(key: Array(repeating: 3, count: 32))
    /// The server's client to the CA, as serve makes it.
    let client = SCEPHTTPClient.makeHTTPClient()
    /// The test's client to the server. Its connect timeout is the request's 30 s, not the CA
    /// client's 3 s: in the full suite, on two cores, a loopback connect has taken longer.
    let tester: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout.connect = .seconds(30)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
    private(set) var port = 0
    private var server: Task<Void, Error>?
    static let host = "HOST-1"

    /// The CA of device identities, when the MDM routes are wanted.
    let identityCA: SCEPServer?

    init(
        caURL: String? = nil, upstreamTimeout: Int64 = 30, mdm: Bool = false, tls: TLSConfiguration? = nil,
        backend: TestBackend = .sqlite, database: String? = nil,
        configure: (inout SCEPOpsApplication.Settings) -> Void = { _ in }
    ) async throws {
        do {
            scep = try await SCEPServer.started(challenge: ValidRepo.environment["WIFI_CHALLENGE"]!)
            identityCA = mdm ? try await SCEPServer.started(challenge: "identity-challenge") : nil
            self.database = if let database { database } else { try await backend.database(in: folder.path) }
            store = try await StateLocation(self.database).open(box: box, access: .readWrite)
        } catch {
            // A client dropped without shutdown stops the whole test process: this test
            // fails on its own instead.
            try? await client.shutdown()
            try? await tester.shutdown()
            throw error
        }
        do {
            try await apply(wifiURL: caURL ?? scep.url)
            try await store.enroll(host: Self.host, serial: "C02TEST", team: "Workstations")

            let verifier = try identityCA.map {
                try MDMSignatureVerifier(caPEM: try String(contentsOfFile: $0.caCertificatePath, encoding: .utf8))
            }
            let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
            var settings = SCEPOpsApplication.Settings(host: "127.0.0.1", port: 0, upstreamTimeout: .seconds(upstreamTimeout), tls: tls)
            configure(&settings)
            let app = try SCEPOpsApplication.make(
                settings: settings, store: store,
                httpClient: client, deviceCA: verifier,
                onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) })
            server = Task { try await app.run() }
            for await port in stream {
                self.port = port
                break
            }
        } catch {
            await stop()
            throw error
        }
    }

    func stop() async {
        server?.cancel()
        _ = try? await server?.value
        try? await client.shutdown()
        try? await tester.shutdown()
        scep.stop()
        identityCA?.stop()
    }

    /// Applies the valid repo with the Wi-Fi CA at `wifiURL`.
    func apply(wifiURL: String) async throws {
        var files = ValidRepo.files
        files["certificate_authorities/wifi.yml"] = ValidRepo.wifiCA.replacingOccurrences(
            of: "https://scep.example.com/scep", with: wifiURL)
        try await apply(files: files)
    }

    /// Applies a config given as repo files.
    func apply(files: [String: String]) async throws {
        let desired = PlanningFixtures.desired(files)
        let plan = Planner(secretDigest: box.digest).plan(desired, against: try await store.currentState())
        _ = try await store.apply(ApplyRequest(plan: plan, desired: desired, planHash: "t", actor: "t", version: "t"))
    }

    func profileUUID(team: String = "Workstations", _ identifier: String) async throws -> String {
        try await store.status().profiles.first { $0.team == team && $0.identifier == identifier }!.uuid
    }

    /// Runs the profile worker once and returns, per profile uuid, the proxy identifier
    /// in the InstallProfile a device of `host` would fetch now.
    @discardableResult
    func render(host: String = ProxyHarness.host) async throws -> [String: ProxyIdentifier] {
        // Verification (ProfileList) is left out: these tests are about deliveries.
        _ = try await ProfileWorker(store: store, settings: .init(verifyInterval: nil)).cycle()
        var identifiers: [String: ProxyIdentifier] = [:]
        for command in try await store.queuedCommands(host: host) where command.type == .installProfile {
            guard let profile = try Self.installedProfile(try await plist(command)),
                let url = profile["PayloadContent"]?.elements?.first?["PayloadContent"]?["URL"]?.string,
                let identifier = ProxyIdentifier(pathComponent: String(url.split(separator: "/").last!))
            else { continue }
            identifiers[command.profile] = identifier
        }
        return identifiers
    }

    /// The command plist a device would receive for `command`, as the MDM route renders it.
    func plist(_ command: QueuedCommand, serverURL: String? = nil) async throws -> [UInt8] {
        try await CommandRenderer(store: store, serverURL: serverURL ?? "http://127.0.0.1:\(port)")
            .plist(for: command, requestBaseURL: "")
    }

    /// The profile inside a rendered InstallProfile command.
    static func installedProfile(_ command: [UInt8]) throws -> PlistNode? {
        let plist = try PropertyListSerialization.propertyList(from: Data(command), format: nil) as? [String: Any]
        guard let payload = (plist?["Command"] as? [String: Any])?["Payload"] as? Data else { return nil }
        return try PlistParser.parse([UInt8](payload))
    }

    /// The rendered Wi-Fi profile's proxy identifier for `host`.
    func wifi(host: String = ProxyHarness.host) async throws -> ProxyIdentifier {
        try await render(host: host)[try profileUUID("com.example.wifi")]!
    }

    func url(_ pathComponent: String) -> String {
        "http://127.0.0.1:\(port)/mdm/scep/proxy/\(pathComponent)"
    }

    struct Answer {
        var status: Int
        var contentType: String?
        var body: [UInt8]
        /// Every header, by lowercased name.
        var headers: [String: String] = [:]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func request(_ url: String, method: HTTPMethod = .GET, body: [UInt8]? = nil, headers: [String: String] = [:])
        async throws -> Answer
    {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await tester.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 8 << 20)
        return Answer(
            status: Int(response.status.code), contentType: response.headers.first(name: "Content-Type"),
            body: Array(bytes.readableBytesView),
            headers: Dictionary(response.headers.map { ($0.name.lowercased(), $0.value) }) { first, _ in first })
    }

    /// Runs the harness's body and stops everything, whatever happens.
    static func with(
        caURL: String? = nil, upstreamTimeout: Int64 = 30, mdm: Bool = false, tls: TLSConfiguration? = nil,
        backend: TestBackend = .sqlite, database: String? = nil,
        configure: (inout SCEPOpsApplication.Settings) -> Void = { _ in }, _ body: (ProxyHarness) async throws -> Void
    ) async throws {
        let harness = try await ProxyHarness(
            caURL: caURL, upstreamTimeout: upstreamTimeout, mdm: mdm, tls: tls, backend: backend, database: database,
            configure: configure)
        do {
            try await body(harness)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }
}
