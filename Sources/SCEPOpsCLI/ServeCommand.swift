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
import ServiceLifecycle

/// `scepops serve`: the server. So far the SCEP proxy, `/healthz` and the profile worker;
/// the MDM channel and APNs come next (issue 4).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the server: the SCEP proxy, the MDM channel, the profile worker and renewal.")

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

    @Option(help: "Seconds between the worker's polls for queued commands; apply's changes reach hosts within one poll.")
    var workerInterval: Double = 1

    @Option(help: "The public URL hosts reach this server at, as it goes into delivered profiles (default: the URL of each device's request).")
    var serverURL: String?

    @Option(help: "Seconds to wait for a CA before answering 504.")
    var upstreamTimeout: Int = 30

    @Option(help: "PKIOperations in flight at once to one CA; the rest wait. 1 suits micromdm's scepserver, which fails concurrent ones.")
    var upstreamConcurrency: Int = 1

    @Option(help: "Seconds before a certificate profile goes out again with a fresh token when the CA failed after its token was spent, or the device reported the install failed; doubled for each later try (3 at most).")
    var redeliveryBackoff: Double = 30

    @Option(help: "Seconds after which a connection with nothing read or written is closed: idle keep-alives, stalled headers and bodies.")
    var idleTimeout: Double = 60

    @Option(help: "Seconds within which a whole request body must arrive (408 otherwise).")
    var bodyTimeout: Double = 30

    @Option(help: "Connections open at once; more wait to be accepted (default: the file-descriptor limit less 512, at most 10,000).")
    var maxConnections: Int?

    @Option(help: "PEM file of the CA that issues device identities; without it the MDM routes are off.")
    var deviceCA: String?

    @Option(help: "Seconds between ProfileList checks of each host (0: never).")
    var verifyInterval: Int = 3600

    @Option(help: "How often renewal looks for due certificates: 30s, 5m, 1h, or seconds.")
    var renewalInterval: String = "60s"

    @Option(help: "Attempts at renewing one certificate before it is marked failed.")
    var renewalAttempts: Int = 3

    @Option(help: "The wait after a failed renewal attempt, doubling after each: 30m, 1h, or seconds.")
    var renewalBackoff: String = "1h"

    @Option(help: "How long after the profile is installed again a renewal waits for the new certificate: 1h, or seconds.")
    var renewalTimeout: String = "1h"

    @Option(help: "The APNs push certificate (PEM); without it pushes are off and hosts get commands when they check in.")
    var apnsCert: String?

    @Option(help: "The push certificate's private key (PEM).")
    var apnsKey: String?

    @Option(help: "The APNs endpoint.")
    var apnsEndpoint: String = APNsClient.production

    func validate() throws {
        guard Self.split(listen) != nil else { throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:8080") }
        if let adminListen, Self.split(adminListen) == nil {
            throw ValidationError("--admin-listen must be HOST:PORT, e.g. 127.0.0.1:8443")
        }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        guard adminFailureLimit > 0 else { throw ValidationError("--admin-failure-limit must be positive") }
        guard workerInterval > 0 else { throw ValidationError("--worker-interval must be positive") }
        guard idleTimeout > 0, bodyTimeout > 0 else { throw ValidationError("--idle-timeout and --body-timeout must be positive") }
        guard (maxConnections ?? 1) > 0 else { throw ValidationError("--max-connections must be positive") }
        for (flag, value) in [("--renewal-interval", renewalInterval), ("--renewal-backoff", renewalBackoff), ("--renewal-timeout", renewalTimeout)]
        where DurationText.seconds(value) == nil {
            throw ValidationError("\(flag) must be a duration such as 30s, 5m or 1h")
        }
        guard renewalAttempts > 0 else { throw ValidationError("--renewal-attempts must be positive") }
    }

    func run() async throws {
        let (host, port) = Self.split(listen)!
        let (store, box) = try await state.openExisting(access: .readWrite, creating: true)
        var verifier: MDMSignatureVerifier?
        if let deviceCA {
            guard let pem = try? String(contentsOfFile: deviceCA, encoding: .utf8),
                let loaded = try? MDMSignatureVerifier(caPEM: pem)
            else {
                Output.error("error: --device-ca \(deviceCA) holds no PEM certificate")
                throw ExitStatus.failure
            }
            verifier = loaded
        } else {
            Output.error("scepops: no --device-ca given: the MDM check-in and command routes are off")
        }
        let client = SCEPHTTPClient.makeHTTPClient()
        var pusher: APNsClient?
        var pushClient: HTTPClient?
        if let apnsCert, let apnsKey {
            guard let certificate = try? String(contentsOfFile: apnsCert, encoding: .utf8),
                let key = try? String(contentsOfFile: apnsKey, encoding: .utf8),
                let topic = APNsClient.topic(certificatePEM: certificate),
                let client = try? APNsClient.makeHTTPClient(certificatePEM: certificate, keyPEM: key)
            else {
                Output.error("error: --apns-cert and --apns-key must be a push certificate (with its UID topic) and its key")
                throw ExitStatus.failure
            }
            pushClient = client
            pusher = APNsClient(client: client, endpoint: apnsEndpoint, topic: topic)
        } else {
            Output.error("scepops: no --apns-cert/--apns-key: pushes are off; hosts get their commands when they next check in")
        }
        let metrics = ServerMetrics()
        let worker = ProfileWorker(
            store: store,
            settings: .init(
                pollInterval: .milliseconds(Int64(workerInterval * 1000)),
                verifyInterval: verifyInterval > 0 ? TimeInterval(verifyInterval) : nil), pusher: pusher,
            metrics: metrics)
        var tls: TLSConfiguration?
        if let tlsCert, let tlsKey {
            do {
                tls = TLSConfiguration.makeServerConfiguration(
                    certificateChain: try NIOSSLCertificate.fromPEMFile(tlsCert).map { .certificate($0) },
                    privateKey: .privateKey(try NIOSSLPrivateKey(file: tlsKey, format: .pem)))
            } catch {
                Output.error("error: --tls-cert/--tls-key: \(error)")
                throw ExitStatus.failure
            }
        }
        let renewal = RenewalWorker(
            store: store, interval: .milliseconds(Int64(DurationText.seconds(renewalInterval)! * 1000)),
            policy: RenewalPolicy(
                maximumAttempts: renewalAttempts, backoff: DurationText.seconds(renewalBackoff)!,
                attemptTimeout: DurationText.seconds(renewalTimeout)!),
            metrics: metrics)
        var services: [any Service] = [worker, renewal]
        if let adminListen, let (adminHost, adminPort) = Self.split(adminListen) {
            services.append(try AdminApplication.make(host: adminHost, port: adminPort, tls: tls, store: store, box: box, metrics: metrics,
                    limit: AuthFailureLimit(maximum: adminFailureLimit, trustedProxies: Set(adminTrustedProxy))))
        }
        let app = try SCEPOpsApplication.make(
            settings: .init(
                host: host, port: port, serverURL: serverURL,
                upstreamTimeout: .seconds(Int64(upstreamTimeout)), upstreamConcurrency: upstreamConcurrency, tls: tls,
                redelivery: RedeliveryPolicy(backoff: redeliveryBackoff),
                idleTimeout: .milliseconds(Int64(idleTimeout * 1000)), bodyTimeout: .milliseconds(Int64(bodyTimeout * 1000)),
                maxConnections: maxConnections ?? SCEPOpsApplication.Settings.defaultMaxConnections),
            store: store,
            httpClient: client, deviceCA: verifier, services: services, metrics: metrics, metricsOnDeviceListener: adminListen == nil)
        do {
            try await app.runService()
        } catch {
            try? await client.shutdown()
            try? await pushClient?.shutdown()
            throw error
        }
        try await client.shutdown()
        try? await pushClient?.shutdown()
    }

    static func split(_ listen: String) -> (String, Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        return (String(listen[..<colon]), port)
    }
}
