import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOSSL
import MDM
import NIOCore
import SCEP
import SCEPOpsCore
import SCEPOpsStore
import ServiceLifecycle

/// Builds the server from its parts: the state and the upstream HTTP client come in, the
/// routes are mounted here.
public enum SCEPOpsApplication {
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        /// The URL hosts reach this server at, as rendered profiles name it; nil: the URL a
        /// device's request came to.
        public var serverURL: String?
        public var upstreamTimeout: TimeAmount
        /// PKIOperations in flight at once to one CA.
        public var upstreamConcurrency: Int
        /// How long a CA's GetCACaps and GetCACert answers are reused (per URL and recorded
        /// certificate, so an apply that changes either takes effect at once).
        public var upstreamCacheLifetime: Duration
        /// Nil: plain HTTP, behind a TLS-terminating proxy (the default deployment).
        public var tls: TLSConfiguration?
        /// Re-deliveries after a token was spent without a certificate.
        public var redelivery: RedeliveryPolicy
        /// A connection with nothing read or written for this long is closed: idle
        /// keep-alives, and requests whose headers or body stall.
        public var idleTimeout: Duration
        /// The whole of a request body must arrive within this.
        public var bodyTimeout: Duration
        /// Connections open at once; past it new ones wait in the listen queue. Below the
        /// file-descriptor limit, so that the state, the CAs and `/healthz` keep working.
        public var maxConnections: Int

        public init(
            host: String = "127.0.0.1", port: Int = 8080, serverURL: String? = nil, upstreamTimeout: TimeAmount = .seconds(30),
            upstreamConcurrency: Int = 1, tls: TLSConfiguration? = nil, redelivery: RedeliveryPolicy = RedeliveryPolicy(),
            idleTimeout: Duration = .seconds(60), bodyTimeout: Duration = .seconds(30),
            maxConnections: Int = Settings.defaultMaxConnections, upstreamCacheLifetime: Duration = .seconds(60)
        ) {
            self.upstreamCacheLifetime = upstreamCacheLifetime
            self.redelivery = redelivery
            self.idleTimeout = idleTimeout
            self.bodyTimeout = bodyTimeout
            self.maxConnections = maxConnections
            self.host = host
            self.port = port
            self.serverURL = serverURL
            self.upstreamTimeout = upstreamTimeout
            self.upstreamConcurrency = upstreamConcurrency
            self.tls = tls
        }
    }

    /// `services` run beside the server and stop with it (the profile worker). Without a
    /// device CA to check identities against, the MDM routes are not mounted.
    public static func make(
        settings: Settings, store: any ProxyStore & MDMStore & DeliveryStore & HealthCheck, httpClient: HTTPClient,
        deviceCA: MDMSignatureVerifier? = nil, services: [any Service] = [], metrics: ServerMetrics = ServerMetrics(),
        metricsOnDeviceListener: Bool = true, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let logger = Logger(label: "scepops")
        let router = Router()
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: StateUnavailableMiddleware())
        let forwardedProto =
            settings.serverURL == nil && settings.tls == nil ? ForwardedProtoWarning<BasicRequestContext>(logger: logger) : nil
        if let forwardedProto { router.add(middleware: forwardedProto) }
        // Healthy when the state answers; a 503 otherwise (StateUnavailableMiddleware).
        router.get("/healthz") { _, _ in
            try await store.checkHealth()
            return "ok\n"
        }
        // With an admin listener, /metrics is there, behind a token, and not where devices are.
        if metricsOnDeviceListener {
            router.get("/metrics") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                    body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
            }
        }
        let timeout = settings.upstreamTimeout
        let answers = SCEPAnswerCache(lifetime: settings.upstreamCacheLifetime)
        let proxy = SCEPProxyRoutes<BasicRequestContext>(
            store: store, metrics: metrics, upstreamConcurrency: settings.upstreamConcurrency, redelivery: settings.redelivery,
            bodyTimeout: settings.bodyTimeout, logger: logger
        ) { ca in
            SCEPHTTPClient(
                client: httpClient, url: ca.url, timeout: timeout, cache: answers, certificateFingerprint: ca.certificateFingerprint)
        }
        proxy.add(to: router)
        if let deviceCA {
            let renderer = CommandRenderer(store: store, serverURL: settings.serverURL)
            MDMRoutes<BasicRequestContext>(
                store: store, verifier: deviceCA, renderer: renderer, scheme: settings.tls == nil ? "http" : "https",
                redelivery: settings.redelivery, metrics: metrics, bodyTimeout: settings.bodyTimeout, logger: logger
            ).add(to: router)
        }
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [CloseOnRefusalHandler()], idleTimeout: TimeAmount(settings.idleTimeout))
        let serverName = "scepops"
        // What the middlewares would have done for a request the fast path answers.
        let fastPath: @Sendable () -> SCEPProxyFastPath = {
            SCEPProxyFastPath(serverName: serverName) { target, headers in
                guard let answer = proxy.answerAtOnce(target: target) else { return nil }
                forwardedProto?.notice(forwardedProto: headers.first(name: "X-Forwarded-Proto"))
                metrics.request(route: ServerMetrics.route(target), status: 200)
                return answer
            }
        }
        let server = HTTPServerBuilder { responder in ProxyHTTP1Channel(responder: responder, configuration: http1, fastPath: fastPath) }
        return Application(
            router: router,
            server: try settings.tls.map { try .tls(server, tlsConfiguration: $0) } ?? server,
            configuration: .init(
                address: .hostname(settings.host, port: settings.port), serverName: serverName,
                availableConnectionsDelegate: MaximumAvailableConnections(settings.maxConnections, logger: logger)),
            services: services, onServerRunning: onServerRunning, logger: logger)
    }
}

extension SCEPOpsApplication.Settings {
    /// The soft file-descriptor limit less room for the state, the CA and APNs clients and
    /// the listener, at most 10,000.
    public static var defaultMaxConnections: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1000 }
        return max(64, min(10_000, Int(limit.rlim_cur) - 512))
    }
}

/// The admin listener (`serve --admin-listen`): the API and `/metrics`, apart from the
/// listener devices reach, so that neither is exposed where devices are.
public enum AdminApplication {
    public static func make(
        host: String, port: Int, tls: TLSConfiguration?, store: any StateBackend, box: SecretBox, metrics: ServerMetrics,
        limit: AuthFailureLimit = AuthFailureLimit(), onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol & Service {
        let logger = Logger(label: "scepops.admin")
        let router = Router(context: AdminRequestContext.self)
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: AdminErrorMiddleware())
        AdminRoutes(store: store, box: box, metrics: metrics, limit: limit, logger: logger).add(to: router)
        let http1 = HTTP1Channel.Configuration(idleTimeout: .seconds(60))
        return Application(
            router: router,
            server: try tls.map { try .tls(.http1(configuration: http1), tlsConfiguration: $0) } ?? .http1(configuration: http1),
            configuration: .init(address: .hostname(host, port: port), serverName: "scepops-admin"),
            onServerRunning: onServerRunning, logger: logger)
    }
}
