// Server benchmarks for the README (issue 4). Each starts its own real parts on loopback:
// scepserver, the server in process, the APNs stand-in, and stops them.
//
//   scepops-server-bench proxy    [requests] [concurrency] [enrollments]
//   scepops-server-bench worker   [hosts] [nopush]       (SCEPOPS_BENCH_DB=postgres://…: on PostgreSQL,
//                                                         SCEPOPS_BENCH_REPLICAS=N: N workers at once)
//   scepops-server-bench checkins [requests] [concurrency]  (the same two variables: N servers in process)
//   scepops-server-bench proxyhold [seconds]  the proxy's parts left running, their URLs on stderr: for a profiler
import AsyncHTTPClient
import Foundation
import GRDB
import GRDBSQLite
import Hummingbird
import Logging
import MDM
import NIOCore
import NIOHTTP1
import NIOSSL
import SCEPOpsCore
import SCEPOpsServer
import SCEPOpsStore
import SCEPOpsTestSupport

// serve's own log handler, at its default level: Hummingbird sets each request's id on the
// logger, and swift-log's default handler formats all its metadata on every set.
LoggingSystem.bootstrap { ServerLogHandler(label: $0, level: .info, format: .text) }

let arguments = CommandLine.arguments.dropFirst()
let mode = arguments.first ?? "proxy"
func number(_ index: Int, _ fallback: Int) -> Int {
    arguments.count > index ? Int(arguments[arguments.index(arguments.startIndex, offsetBy: index)]) ?? fallback : fallback
}

/// The server over a fresh state holding the example-shaped config, CAs at `scep`.
final class Bench: @unchecked Sendable {
    let scep: SCEPServer
    let folder = TempRepo()
    let store: any StateBackend
    /// The state's `--db`: a file in `folder`, or `$SCEPOPS_BENCH_DB` (an empty PostgreSQL database).
    let database: String
    let box = try! SecretBox(key: Array(repeating: 5, count: 32))
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    var port = 0
    var servers: [Task<Void, Error>] = []
    let identityCA: SCEPServer?

    init(mdm: Bool = false) async throws {
        scep = try SCEPServer(challenge: ValidRepo.environment["WIFI_CHALLENGE"]!)
        identityCA = mdm ? try SCEPServer(challenge: "identity") : nil
        database = ProcessInfo.processInfo.environment["SCEPOPS_BENCH_DB"] ?? folder.path + "/state.db"
        store = try await StateLocation(database).open(box: box, access: .readWrite)
        var files = ValidRepo.files
        files["certificate_authorities/wifi.yml"] = ValidRepo.wifiCA.replacingOccurrences(of: "https://scep.example.com/scep", with: scep.url)
        files["certificate_authorities/vpn.yml"] = ValidRepo.vpnCA.replacingOccurrences(of: "http://127.0.0.1:2016/scep", with: scep.url)
        let desired = PlanningFixtures.desired(files)
        let plan = Planner(secretDigest: box.digest).plan(desired, against: try await store.currentState())
        _ = try await store.apply(ApplyRequest(plan: plan, desired: desired, planHash: "bench", actor: "bench", version: "bench"))
        port = try await serve(store)
    }

    /// A server on `store`, on a port of its own; more than one on the state are replicas.
    func serve(_ store: any StateBackend) async throws -> Int {
        let verifier = try identityCA.map { try MDMSignatureVerifier(caPEM: try String(contentsOfFile: $0.caCertificatePath, encoding: .utf8)) }
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = try SCEPOpsApplication.make(
            settings: .init(host: "127.0.0.1", port: 0), store: store, httpClient: client, deviceCA: verifier,
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) })
        servers.append(Task { try await app.run() })
        for await port in stream { return port }
        return 0
    }

    func stop() async {
        for server in servers {
            server.cancel()
            _ = try? await server.value
        }
        try? await client.shutdown()
        scep.stop()
        identityCA?.stop()
    }

    /// Proxy URLs the worker rendered for `host`, by profile uuid.
    func rendered(host: String) async throws -> [String] {
        _ = try await ProfileWorker(store: store, settings: .init(verifyInterval: nil)).cycle()
        let renderer = CommandRenderer(store: store, serverURL: "http://127.0.0.1:\(port)")
        var urls: [String] = []
        for command in try await store.queuedCommands(host: host) where command.type == .installProfile {
            guard let payload = try? await renderer.plist(for: command, requestBaseURL: ""),
                let plist = try PropertyListSerialization.propertyList(from: Data(payload), format: nil) as? [String: Any],
                let profile = (plist["Command"] as? [String: Any])?["Payload"] as? Data,
                let root = try? PlistParser.parse([UInt8](profile)),
                let url = root["PayloadContent"]?.elements?.first?["PayloadContent"]?["URL"]?.string
            else { continue }
            urls.append(url)
        }
        return urls
    }
}

/// `SCEPOPS_BENCH_REPLICAS`: how many servers (or workers) share the state.
let replicas = max(1, Int(ProcessInfo.processInfo.environment["SCEPOPS_BENCH_REPLICAS"] ?? "1") ?? 1)

/// Latencies in ms, sorted; p-th percentile.
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

/// `requests` GETs with `concurrency` in flight: (requests per second, sorted latencies in ms).
func load(_ client: HTTPClient, _ url: String, requests: Int, concurrency: Int, expected: HTTPResponseStatus = .ok) async throws
    -> (Double, [Double])
{
    let start = ContinuousClock.now
    let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
        for worker in 0..<concurrency {
            group.addTask {
                var mine: [Double] = []
                for _ in stride(from: worker, to: requests, by: concurrency) {
                    let began = ContinuousClock.now
                    let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
                    _ = try await response.body.collect(upTo: 1 << 20)
                    precondition(response.status == expected, "HTTP \(response.status.code) from \(url)")
                    let elapsed = ContinuousClock.now - began
                    mine.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
                }
                return mine
            }
        }
        return try await group.reduce(into: []) { $0 += $1 }
    }
    let total = ContinuousClock.now - start
    let seconds = Double(total.components.seconds) + Double(total.components.attoseconds) / 1e18
    return (Double(requests) / seconds, latencies.sorted())
}

/// wrk as the load generator, when installed: a C event loop in a process of its own (where
/// AsyncHTTPClient in this one took about a third of the CPU). One thread, `connections`
/// open, four seconds; requests per second. Every answer must be 2xx, or none (`refused`).
let wrkInstalled = FileManager.default.isExecutableFile(atPath: "/usr/bin/wrk")
func wrk(_ url: String, connections: Int, script: String? = nil, refused: Bool = false) -> Double {
    let run = Command.run(
        "/usr/bin/wrk", ["-t", "1", "-c", "\(connections)", "-d", "4s"] + (script.map { ["-s", $0] } ?? []) + [url])
    precondition(run.status == 0, run.stderr)
    let lines = run.stdout.split(separator: "\n")
    // wrk counts the answers outside 2xx and 3xx.
    let others = lines.first { $0.contains("Non-2xx or 3xx responses:") }
    precondition((others != nil) == refused, "wrk: unexpected answers from \(url): \(others ?? "")")
    return Double(lines.first { $0.hasPrefix("Requests/sec:") }?.split(separator: " ").last ?? "") ?? 0
}

/// The floor of a proxied answer in this HTTP stack: an application of its own with one route
/// of the proxy's shape, answering what the CA answered, with nothing looked up or checked.
func routedFloor(answering url: String, client: HTTPClient) async throws -> (Int, Task<Void, Error>) {
    let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
    let type = response.headers.first(name: "Content-Type") ?? "application/x-x509-ca-cert"
    let body = try await response.body.collect(upTo: 1 << 20)
    let router = Router()
    router.get("/mdm/scep/proxy/{identifier}") { _, _ in
        Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: body))
    }
    let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
    let app = Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) })
    let task = Task { try await app.run() }
    for await port in stream { return (port, task) }
    return (0, task)
}

func peakRSSMiB() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss / 1024)
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

switch mode {
case "proxyhold":
    let bench = try await Bench()
    let (routedPort, routed) = try await routedFloor(answering: bench.scep.url + "?operation=GetCACert", client: bench.client)
    FileHandle.standardError.write(Data("http://127.0.0.1:\(routedPort)/mdm/scep/proxy/x?operation=GetCACert\n".utf8))
    try await bench.store.enroll(host: "BENCH-1", serial: nil, team: "Workstations")
    let proxied = try await bench.rendered(host: "BENCH-1")[0]
    FileHandle.standardError.write(Data((proxied + "?operation=GetCACert\n" + bench.scep.url + "?operation=GetCACert\nhttp://127.0.0.1:\(bench.port)/mdm/scep/no-such-route?operation=GetCACert\n").utf8))
    try await Task.sleep(for: .seconds(number(1, 60)))
    routed.cancel()
    await bench.stop()
case "proxy":
    let requests = number(1, 5000)
    let concurrency = number(2, 16)
    let enrollments = number(3, 20)
    let bench = try await Bench()
    try await bench.store.enroll(host: "BENCH-1", serial: nil, team: "Workstations")
    let proxied = try await bench.rendered(host: "BENCH-1")[0]
    // Warm both paths, then measure them in turns within the same run.
    _ = try await load(bench.client, bench.scep.url + "?operation=GetCACert", requests: 200, concurrency: concurrency)
    _ = try await load(bench.client, proxied + "?operation=GetCACert", requests: 200, concurrency: concurrency)
    let (directRate, direct) = try await load(bench.client, bench.scep.url + "?operation=GetCACert", requests: requests, concurrency: concurrency)
    let (proxyRate, proxy) = try await load(bench.client, proxied + "?operation=GetCACert", requests: requests, concurrency: concurrency)
    print("GetCACert, \(requests) requests, \(concurrency) in flight:")
    print(String(format: "  direct  %7.0f req/s  p50 %.2f ms  p99 %.2f ms", directRate, percentile(direct, 0.5), percentile(direct, 0.99)))
    print(String(format: "  proxied %7.0f req/s  p50 %.2f ms  p99 %.2f ms", proxyRate, percentile(proxy, 0.5), percentile(proxy, 0.99)))
    print(String(format: "  throughput ratio %.2f; added latency p50 %.2f ms, p99 %.2f ms", proxyRate / directRate,
        percentile(proxy, 0.5) - percentile(direct, 0.5), percentile(proxy, 0.99) - percentile(direct, 0.99)))
    // The floor of our HTTP server here: the same GET to a path with no route, answered 404
    // without the state or the CA (Hummingbird and NIO, with the load generator on the same cores).
    let noRoute = "http://127.0.0.1:\(bench.port)/mdm/scep/no-such-route?operation=GetCACert"
    let (floorRate, _) = try await load(bench.client, noRoute, requests: requests, concurrency: concurrency, expected: .notFound)
    print(String(format: "  no route on the proxy's server (its HTTP floor) %7.0f req/s: %.2f of direct; the proxy at %.2f of its floor",
        floorRate, floorRate / directRate, proxyRate / floorRate))
    // The same GETs with wrk as the load generator.
    if wrkInstalled {
        // By turns, three times: on two shared cores one four-second run of each varies by a tenth.
        var rounds: [(direct: Double, proxied: Double)] = []
        for _ in 0..<3 {
            rounds.append((wrk(bench.scep.url + "?operation=GetCACert", connections: concurrency),
                wrk(proxied + "?operation=GetCACert", connections: concurrency)))
        }
        let ratios = rounds.map { $0.proxied / $0.direct }.sorted()
        print("  with wrk as the load generator, by turns: " + rounds.map { String(format: "direct %.0f, proxied %.0f req/s (%.2f)", $0.direct, $0.proxied, $0.proxied / $0.direct) }.joined(separator: "; "))
        print(String(format: "  throughput ratio with wrk, the median of three: %.2f", ratios[1]))
        let (wrkDirect, wrkProxied) = rounds.sorted { $0.proxied / $0.direct < $1.proxied / $1.direct }[1]
        let wrkFloor = wrk(noRoute, connections: concurrency, refused: true)
        let (routedPort, routed) = try await routedFloor(answering: bench.scep.url + "?operation=GetCACert", client: bench.client)
        let path = URLComponents(string: proxied)!.percentEncodedPath
        let wrkRouted = wrk("http://127.0.0.1:\(routedPort)\(path)?operation=GetCACert", connections: concurrency)
        routed.cancel()
        _ = try? await routed.value
        print(String(format: "  no route, with wrk: %.0f req/s (%.2f of the median round's direct)", wrkFloor, wrkFloor / wrkDirect))
        print(String(format: "  Hummingbird alone answering the same bytes on a route of the same shape: %.0f req/s (%.2f of direct); the proxy at %.2f of it",
            wrkRouted, wrkRouted / wrkDirect, wrkProxied / wrkRouted))
        // The check every proxied request makes, alone: the state's lookup, one after another.
        let identifier = ProxyIdentifier(pathComponent: String(path.split(separator: "/").last ?? ""))!
        let lookups = 100_000
        // Off the main actor, as a request's handler runs: no hop to it and back per call.
        let store = bench.store
        let took = try await Task.detached {
            let began = ContinuousClock.now
            for _ in 0..<lookups { _ = try await store.proxyUpstream(identifier).get() }
            return ContinuousClock.now - began
        }.value
        print(String(format: "  the state's lookup alone: %.1f µs each (%d in a row, one thread); a proxied request at %.0f req/s takes %.1f µs of the machine's two cores",
            milliseconds(took) * 1000 / Double(lookups), lookups, wrkProxied, 2e6 / wrkProxied))
    }
    // PKIOperation: whole enrollments with micromdm's scepclient, each proxied one with its own token.
    var directTimes: [Double] = []
    var proxiedTimes: [Double] = []
    for index in 0..<enrollments {
        let host = "ENROLL-\(index)"
        try await bench.store.enroll(host: host, serial: nil, team: "Workstations")
        let url = try await bench.rendered(host: host)[0]
        for (target, into) in [(bench.scep.url, 0), (url, 1)] {
            let work = TempRepo()
            let began = ContinuousClock.now
            let result = Command.run(
                "/usr/bin/scepclient",
                ["-server-url", target, "-challenge", bench.scep.challenge, "-private-key", work.path + "/k.pem",
                    "-certificate", work.path + "/c.pem", "-cn", "\(host)-\(into)"])
            precondition(result.status == 0, result.stderr)
            let elapsed = milliseconds(ContinuousClock.now - began)
            if into == 0 { directTimes.append(elapsed) } else { proxiedTimes.append(elapsed) }
        }
    }
    directTimes.sort()
    proxiedTimes.sort()
    print("Enrollment (GetCACaps, GetCACert, PKIOperation) with scepclient, \(enrollments) each:")
    print(String(format: "  direct p50 %.1f ms, proxied p50 %.1f ms: %.1f ms added", percentile(directTimes, 0.5),
        percentile(proxiedTimes, 0.5), percentile(proxiedTimes, 0.5) - percentile(directTimes, 0.5)))
    await bench.stop()

case "worker":
    let hosts = number(1, 100_000)
    let apns = try await APNsTestServer()
    let http = try APNsClient.makeHTTPClient(
        certificatePEM: apns.pushCertificatePEM, keyPEM: apns.pushKeyPEM,
        trustRoots: try NIOSSLCertificate.fromPEMBytes(Array(apns.serverCertificatePEM.utf8)))
    let bench = try await Bench()
    // Hosts as enrollment leaves them, in one transaction: in Workstations (two SCEP
    // profiles each), with a push token, their deliveries queued.
    if PostgresLocation.isURL(bench.database) {
        // One statement: generate_series makes the hosts, their deliveries and commands.
        let sql = """
            INSERT INTO host (uuid, team, enrolled_at, push_token, push_magic)
                SELECT format('HOST-%s', lpad(i::text, 6, '0')), 'Workstations', '2026-01-01T00:00:00Z', lpad(to_hex(i), 64, '0'), 'magic-' || i
                FROM generate_series(0, \(hosts - 1)) AS i;
            INSERT INTO host_profile (host_uuid, profile_uuid, identifier, operation, status, updated_at)
                SELECT h.uuid, p.uuid, p.identifier, 'install', 'pending', '2026-01-01T00:00:00Z'
                FROM host h CROSS JOIN profile p WHERE p.team = 'Workstations' ORDER BY h.uuid, p.identifier;
            INSERT INTO command_outbox (host_uuid, profile_uuid, request_type, created_at)
                SELECT h.uuid, p.uuid, 'InstallProfile', '2026-01-01T00:00:00Z'
                FROM host h CROSS JOIN profile p WHERE p.team = 'Workstations' ORDER BY h.uuid, p.identifier;
            """
        let seeded = Command.run("/usr/bin/psql", [bench.database, "-v", "ON_ERROR_STOP=1", "-qc", sql])
        precondition(seeded.status == 0, seeded.stderr)
    } else {
        let queue = try DatabaseQueue(path: bench.database)
        try queue.write { db in
            let profiles = try Row.fetchAll(db, sql: "SELECT uuid, identifier FROM profile WHERE team = 'Workstations'")
            for index in 0..<hosts {
                let host = String(format: "HOST-%06d", index)
                try db.execute(
                    sql: "INSERT INTO host (uuid, team, enrolled_at, push_token, push_magic) VALUES (?, 'Workstations', '2026-01-01T00:00:00Z', ?, ?)",
                    arguments: [host, String(format: "%064x", index), "magic-\(index)"])
                for profile in profiles {
                    try db.execute(
                        sql: "INSERT INTO host_profile (host_uuid, profile_uuid, identifier, operation, status, updated_at) VALUES (?, ?, ?, 'install', 'pending', '2026-01-01T00:00:00Z')",
                        arguments: [host, profile["uuid"] as String, profile["identifier"] as String])
                    try db.execute(
                        sql: "INSERT INTO command_outbox (host_uuid, profile_uuid, request_type, created_at) VALUES (?, ?, 'InstallProfile', '2026-01-01T00:00:00Z')",
                        arguments: [host, profile["uuid"] as String])
                }
            }
        }
    }
    if arguments.contains("writes") {
        // The floor of readying: SQLite making the same writes, in the same transactions of
        // the same size, through its C API with nothing of ours around them.
        let seconds = try SQLiteWrites.ready(database: bench.database, batch: 1000)
        print(String(format: "Readying's writes alone, through SQLite's C API, %d hosts: %.1f s", hosts, seconds))
        await bench.stop()
        try await http.shutdown()
        await apns.stop()
        exit(0)
    }
    // `worker N nopush` measures rendering alone.
    let pusher = arguments.contains("nopush") ? nil : APNsClient(client: http, endpoint: apns.url, topic: APNsTestServer.topic)
    // Replicas: workers on stores of their own over the same state, all at once.
    var stores: [any StateBackend] = [bench.store]
    for _ in 1..<replicas { stores.append(try await StateLocation(bench.database).open(box: bench.box, access: .readWrite)) }
    let began = ContinuousClock.now
    let results = try await withThrowingTaskGroup(of: ProfileWorker.CycleResult.self) { group in
        for store in stores {
            group.addTask { try await ProfileWorker(store: store, settings: .init(verifyInterval: nil), pusher: pusher).cycle() }
        }
        var results: [ProfileWorker.CycleResult] = []
        for try await result in group { results.append(result) }
        return results
    }
    let elapsed = ContinuousClock.now - began
    let result = ProfileWorker.CycleResult(
        rendered: results.map(\.rendered).reduce(0, +), pushed: results.map(\.pushed).reduce(0, +))
    let backend = PostgresLocation.isURL(bench.database) ? "PostgreSQL" : "SQLite"
    print("Worker cycle over \(hosts) hosts with 2 SCEP profiles each, \(backend), \(replicas) worker(s):")
    print(String(format: "  %.1f s: %d commands rendered, %d pushes delivered (%d sent to the APNs stand-in); peak RSS %d MiB",
        milliseconds(elapsed) / 1000, result.rendered, result.pushed, apns.requests.count, peakRSSMiB()))
    if let pusher {
        // The pushes' floor: as many pushes straight from the APNs client to the stand-in, as
        // many in flight as the worker, no state: what the HTTP/2 client and the stand-in cost
        // on these cores.
        let floorBegan = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for lane in 0..<ProfileWorker.pushConcurrency {
                group.addTask {
                    for index in stride(from: lane, to: hosts, by: ProfileWorker.pushConcurrency) {
                        let outcome = await pusher.push(token: String(format: "%064x", index), pushMagic: "magic-\(index)")
                        precondition(outcome == .delivered)
                    }
                }
            }
        }
        let floor = milliseconds(ContinuousClock.now - floorBegan) / 1000
        print(String(format: "  the pushes alone, straight to the stand-in (their floor): %.1f s; the cycle at %.2f of it",
            floor, milliseconds(elapsed) / 1000 / floor))
    }
    await bench.stop()
    try await http.shutdown()
    await apns.stop()

case "checkins":
    let requests = number(1, 20_000)
    let concurrency = number(2, 32)
    let bench = try await Bench(mdm: true)
    let identity = try DeviceIdentity(from: bench.identityCA!, commonName: "BENCH-DEVICE")
    func signed(_ dict: [String: Any]) throws -> ([UInt8], String) {
        let body = [UInt8](try PropertyListSerialization.data(fromPropertyList: dict, format: .xml, options: 0))
        return (body, try identity.signature(for: body))
    }
    func put(_ path: String, _ message: ([UInt8], String), port: Int? = nil) async throws -> HTTPResponseStatus {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port ?? bench.port)\(path)")
        request.method = .PUT
        request.headers.add(name: "Mdm-Signature", value: message.1)
        request.body = .bytes(ByteBuffer(bytes: message.0))
        let response = try await bench.client.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        return response.status
    }
    let secret = ValidRepo.environment["WS_SECRET"]!.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
    let authenticated = try await put(
        "/mdm/apple/checkin?enroll_secret=\(secret)", signed(["MessageType": "Authenticate", "UDID": "BENCH-DEVICE", "Topic": "t"]))
    precondition(authenticated == .ok)
    let idle = try signed(["Status": "Idle", "UDID": "BENCH-DEVICE"])
    // Nothing queued: answer every command first, so each Idle is answered with an empty body.
    try await bench.store.checkOut(host: "BENCH-DEVICE")
    // Replicas: more servers on stores of their own over the same state; requests go round robin.
    var ports = [bench.port]
    for _ in 1..<replicas {
        ports.append(try await bench.serve(try await StateLocation(bench.database).open(box: bench.box, access: .readWrite)))
    }
    /// Requests per second of the same signed PUT to `path`, answered `expected`.
    func rate(_ path: String, expected: HTTPResponseStatus) async throws -> Double {
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { [ports] group in
            for worker in 0..<concurrency {
                group.addTask {
                    for request in stride(from: worker, to: requests, by: concurrency) {
                        let status = try await put(path, idle, port: ports[request % ports.count])
                        precondition(status == expected, "HTTP \(status.code) from \(path)")
                    }
                }
            }
            try await group.waitForAll()
        }
        return Double(requests) / (milliseconds(ContinuousClock.now - start) / 1000)
    }
    // The floor: the same request to a path with no route, which the server answers without
    // reading the body's signature or the state; the HTTP server, the load generator and
    // the kernel on the same cores. Then the check-ins, then the floor again.
    let floorBefore = try await rate("/mdm/apple/no-such-route", expected: .notFound)
    let checkIns = try await rate("/mdm/apple/command", expected: .ok)
    let floorAfter = try await rate("/mdm/apple/no-such-route", expected: .notFound)
    let floor = (floorBefore + floorAfter) / 2
    let backend = PostgresLocation.isURL(bench.database) ? "PostgreSQL" : "SQLite"
    print("Idle check-ins, signed and verified, \(requests) requests with \(concurrency) in flight, \(backend), \(replicas) server(s): "
        + String(format: "%.0f per second", checkIns))
    print(String(format: "  the same request to no route (the HTTP floor): %.0f and %.0f per second; check-ins at %.2f of the floor",
        floorBefore, floorAfter, checkIns / floor))
    // The same three with wrk as the load generator.
    if wrkInstalled, replicas == 1 {
        let script = bench.folder.path + "/idle.lua"
        let lua = "wrk.method = \"PUT\"\nwrk.headers[\"Mdm-Signature\"] = \"\(idle.1)\"\n"
            + "wrk.body = [==[\(String(decoding: idle.0, as: UTF8.self))]==]\n"
        try lua.write(toFile: script, atomically: true, encoding: .utf8)
        func signed(_ path: String, refused: Bool = false) -> Double {
            wrk("http://127.0.0.1:\(bench.port)\(path)", connections: concurrency, script: script, refused: refused)
        }
        let wrkFloorBefore = signed("/mdm/apple/no-such-route", refused: true)
        let wrkCheckIns = signed("/mdm/apple/command")
        let wrkFloorAfter = signed("/mdm/apple/no-such-route", refused: true)
        print(String(format: "  with wrk as the load generator: %.0f check-ins per second; the floor %.0f and %.0f; check-ins at %.2f of it",
            wrkCheckIns, wrkFloorBefore, wrkFloorAfter, 2 * wrkCheckIns / (wrkFloorBefore + wrkFloorAfter)))
    }
    await bench.stop()

default:
    print("usage: scepops-server-bench proxy|worker|checkins")
}
