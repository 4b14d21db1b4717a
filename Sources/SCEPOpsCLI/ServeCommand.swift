import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import MDM
import NIOSSL
import NIOCore
import SCEP
import SCEPOpsCore
import SCEPOpsServer
import SCEPOpsStore
import Logging
import ServiceLifecycle

/// `scepops serve`: the server, its composition root. Every flag can also come from
/// `$SCEPOPS_<FLAG>` or a `--config` file (`ServeSettings`); everything that can be checked
/// before the state is opened is, so a refused start leaves no files behind.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the server: the SCEP proxy, the MDM channel, the profile worker and renewal.",
        discussion: """
            Every flag can also be set by an environment variable, SCEPOPS_ and the flag's name in \
            capitals (--admin-listen: SCEPOPS_ADMIN_LISTEN; a repeatable flag takes a comma-separated \
            list), or by a key of a YAML file given with --config (admin-listen: 127.0.0.1:8443). The \
            command line wins over the environment, which wins over the file.

            Examples:
              scepops serve --db scepops.db --listen 127.0.0.1:8080 --device-ca device-ca.pem
              SCEPOPS_DB=postgres://scepops@db:5432/scepops scepops serve --config /etc/scepops/serve.yaml
              scepops serve --log-level debug --log-format json
            """)

    @Option(help: "A YAML file of settings, keyed by flag name (listen: 0.0.0.0:8080).")
    var config: String?

    @Option(help: "The least severe log lines written: trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    @Option(help: "Log lines as text or json (one object a line).")
    var logFormat: LogFormat = .text

    @OptionGroup var state: StateOptions

    @Option(help: "Address to listen on, HOST:PORT. Plain HTTP behind a TLS-terminating proxy, unless --tls-cert is given.")
    var listen: String = "127.0.0.1:8080"

    @Option(help: "Also serve the admin API and /metrics on HOST:PORT, with bearer tokens (`scepops token create`); TLS as --tls-cert. Without it /metrics stays on --listen.")
    var adminListen: String?

    @Option(help: "Failed token attempts a client address may make per minute on the admin listener before it gets 429.")
    var adminFailureLimit = 10

    @Option(help: "A load balancer's address (repeatable): from it, X-Forwarded-For names the client that failed attempts count against.")
    var adminTrustedProxy: [String] = []

    @Option(help: "Serve TLS with this certificate chain (PEM) instead of plain HTTP.")
    var tlsCert: String?

    @Option(help: "The private key (PEM) of --tls-cert.")
    var tlsKey: String?

    @Option(help: "Between the worker's polls for queued commands; apply's changes reach hosts within one poll.")
    var workerInterval: DurationArgument = .seconds(1)

    @Option(help: "The public URL hosts reach this server at, as it goes into delivered profiles (default: the URL of each device's request).")
    var serverURL: String?

    @Option(help: "How long to wait for a CA before answering 504.")
    var upstreamTimeout: DurationArgument = .seconds(30)

    @Option(help: "PKIOperations in flight at once to one CA; the rest wait. 1 suits micromdm's scepserver, which fails concurrent ones.")
    var upstreamConcurrency: Int = 1

    @Option(help: "The wait before a certificate profile goes out again with a fresh token when the CA failed after its token was spent, or the device reported the install failed; doubled for each later try (3 at most).")
    var redeliveryBackoff: DurationArgument = .seconds(30)

    @Option(help: "After how long a connection with nothing read or written is closed: idle keep-alives, stalled headers and bodies.")
    var idleTimeout: DurationArgument = .seconds(60)

    @Option(help: "How long a whole request body may take to arrive (408 otherwise).")
    var bodyTimeout: DurationArgument = .seconds(30)

    @Option(help: "Connections open at once; more wait to be accepted (default: the file-descriptor limit less 512, at most 10,000).")
    var maxConnections: Int?

    @Option(help: "PEM file of the CA that issues device identities; without it the MDM routes are off.")
    var deviceCA: String?

    @Option(help: "Between ProfileList and CertificateList checks of each host (0: never).")
    var verifyInterval: DurationArgument = .seconds(3600)

    @Option(help: "How often renewal looks for due certificates.")
    var renewalInterval: DurationArgument = .seconds(60)

    @Option(help: "Attempts at renewing one certificate before it is marked failed.")
    var renewalAttempts: Int = 3

    @Option(help: "The wait after a failed renewal attempt, doubling after each.")
    var renewalBackoff: DurationArgument = .seconds(3600)

    @Option(help: "How long after the profile is installed again a renewal waits for the new certificate.")
    var renewalTimeout: DurationArgument = .seconds(3600)

    @Option(help: "The APNs push certificate (PEM); without it pushes are off and hosts get commands when they check in.")
    var apnsCert: String?

    @Option(help: "The push certificate's private key (PEM).")
    var apnsKey: String?

    @Option(help: "The APNs endpoint.")
    var apnsEndpoint: String = APNsClient.production

    func validate() throws {
        guard Self.split(listen) != nil else { throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:8080, found \"\(listen)\"") }
        if let adminListen, Self.split(adminListen) == nil {
            throw ValidationError("--admin-listen must be HOST:PORT, e.g. 127.0.0.1:8443, found \"\(adminListen)\"")
        }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        guard (apnsCert == nil) == (apnsKey == nil) else {
            throw ValidationError("--apns-cert and --apns-key go together: the push certificate and its private key")
        }
        if let serverURL { try AbsoluteURL.check(serverURL, flag: "--server-url") }
        guard APNsClient.server(apnsEndpoint) != nil else {
            throw ValidationError("--apns-endpoint must be an https URL with no path, such as \(APNsClient.production), found \"\(apnsEndpoint)\"")
        }
        guard adminFailureLimit > 0 else { throw ValidationError("--admin-failure-limit must be positive") }
        for (flag, value) in [
            ("--worker-interval", workerInterval), ("--upstream-timeout", upstreamTimeout), ("--idle-timeout", idleTimeout),
            ("--body-timeout", bodyTimeout), ("--redelivery-backoff", redeliveryBackoff), ("--renewal-interval", renewalInterval),
            ("--renewal-backoff", renewalBackoff), ("--renewal-timeout", renewalTimeout),
        ] where value.seconds <= 0 {
            throw ValidationError("\(flag) must be a duration above zero, such as 30s, 5m or 1h")
        }
        guard (maxConnections ?? 1) > 0 else { throw ValidationError("--max-connections must be positive") }
        guard renewalAttempts > 0 else { throw ValidationError("--renewal-attempts must be positive") }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in ServerLogHandler(label: label, level: logLevel, format: logFormat) }
        let (host, port) = Self.split(listen)!
        // Every file is read before the state is opened: a refused start creates nothing.
        let verifier = try loadDeviceCA()
        let push = try loadPushCertificate()
        let tls = try loadTLS()
        let (store, box) = try await state.openExisting(access: .readWrite, creating: true)
        let client = SCEPHTTPClient.makeHTTPClient()
        var pusher: APNsClient?
        if let push {
            pusher = APNsClient(client: push.client, endpoint: apnsEndpoint, topic: push.topic)
        } else {
            Output.error("scepops: no --apns-cert/--apns-key: pushes are off; hosts get their commands when they next check in")
        }
        let metrics = ServerMetrics()
        let worker = ProfileWorker(
            store: store,
            settings: .init(
                pollInterval: workerInterval.duration,
                verifyInterval: verifyInterval.seconds > 0 ? verifyInterval.seconds : nil), pusher: pusher,
            metrics: metrics)
        let renewal = RenewalWorker(
            store: store, interval: renewalInterval.duration,
            policy: RenewalPolicy(
                maximumAttempts: renewalAttempts, backoff: renewalBackoff.seconds,
                attemptTimeout: renewalTimeout.seconds),
            metrics: metrics)
        var services: [any Service] = [worker, renewal]
        if let adminListen, let (adminHost, adminPort) = Self.split(adminListen) {
            services.append(try AdminApplication.make(host: adminHost, port: adminPort, tls: tls, store: store, box: box, metrics: metrics,
                    limit: AuthFailureLimit(maximum: adminFailureLimit, trustedProxies: Set(adminTrustedProxy))))
        }
        let app = try SCEPOpsApplication.make(
            settings: .init(
                host: host, port: port, serverURL: serverURL,
                upstreamTimeout: .milliseconds(Int64(upstreamTimeout.seconds * 1000)), upstreamConcurrency: upstreamConcurrency, tls: tls,
                redelivery: RedeliveryPolicy(backoff: redeliveryBackoff.seconds),
                idleTimeout: idleTimeout.duration, bodyTimeout: bodyTimeout.duration,
                maxConnections: maxConnections ?? SCEPOpsApplication.Settings.defaultMaxConnections),
            store: store,
            httpClient: client, deviceCA: verifier, services: services, metrics: metrics, metricsOnDeviceListener: adminListen == nil)
        do {
            try await app.runService()
        } catch {
            try? await client.shutdown()
            try? await push?.client.shutdown()
            if let message = ListenFailure.message(error, listen: listen, adminListen: adminListen) {
                Output.error("error: \(message)")
                throw ExitStatus.failure
            }
            throw error
        }
        try? await client.shutdown()
        try? await push?.client.shutdown()
    }

    private func loadDeviceCA() throws -> MDMSignatureVerifier? {
        guard let deviceCA else {
            Output.error("scepops: no --device-ca given: the MDM check-in and command routes are off")
            return nil
        }
        let pem = try Self.read(deviceCA, flag: "--device-ca")
        guard let verifier = try? MDMSignatureVerifier(caPEM: pem) else {
            Output.error("error: --device-ca \(deviceCA) holds no PEM certificate")
            throw ExitStatus.failure
        }
        return verifier
    }

    /// The APNs client and its topic, the UID of the push certificate's subject.
    private func loadPushCertificate() throws -> (client: APNsHTTP2Client, topic: String)? {
        guard let apnsCert, let apnsKey else { return nil }
        let certificate = try Self.read(apnsCert, flag: "--apns-cert")
        let key = try Self.read(apnsKey, flag: "--apns-key")
        guard let topic = APNsClient.topic(certificatePEM: certificate) else {
            Output.error("error: --apns-cert \(apnsCert) is not a push certificate: no UID (the APNs topic) in its subject")
            throw ExitStatus.failure
        }
        guard let client = try? APNsClient.makeHTTPClient(certificatePEM: certificate, keyPEM: key) else {
            Output.error("error: --apns-key \(apnsKey) is not the private key (PEM) of --apns-cert \(apnsCert)")
            throw ExitStatus.failure
        }
        return (client, topic)
    }

    private func loadTLS() throws -> TLSConfiguration? {
        guard let tlsCert, let tlsKey else { return nil }
        _ = try Self.read(tlsCert, flag: "--tls-cert")
        _ = try Self.read(tlsKey, flag: "--tls-key")
        do {
            return TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(tlsCert).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: tlsKey, format: .pem)))
        } catch {
            Output.error("error: --tls-cert \(tlsCert) and --tls-key \(tlsKey) must be a PEM certificate chain and its private key")
            throw ExitStatus.failure
        }
    }

    /// A file a flag names: "not found" and "cannot be read" said as such.
    static func read(_ path: String, flag: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            Output.error("error: \(flag) \(path): not found")
            throw ExitStatus.failure
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            Output.error("error: \(flag) \(path): cannot be read")
            throw ExitStatus.failure
        }
        return text
    }

    static func split(_ listen: String) -> (String, Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        return (String(listen[..<colon]), port)
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension LogFormat: ExpressibleByArgument {}
