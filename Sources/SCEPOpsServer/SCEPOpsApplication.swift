import AsyncHTTPClient
import Hummingbird
import HummingbirdTLS
import Logging
import NIOSSL
import MDM
import NIOCore
import SCEP
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
        /// Nil: plain HTTP, behind a TLS-terminating proxy (the default deployment).
        public var tls: TLSConfiguration?

        public init(
            host: String = "127.0.0.1", port: Int = 8080, serverURL: String? = nil, upstreamTimeout: TimeAmount = .seconds(30),
            upstreamConcurrency: Int = 1, tls: TLSConfiguration? = nil
        ) {
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
        settings: Settings, store: any ProxyStore & MDMStore & DeliveryStore, httpClient: HTTPClient,
        deviceCA: MDMSignatureVerifier? = nil, services: [any Service] = [], metrics: ServerMetrics = ServerMetrics(),
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
        }
        let timeout = settings.upstreamTimeout
        SCEPProxyRoutes<BasicRequestContext>(store: store, metrics: metrics, upstreamConcurrency: settings.upstreamConcurrency) { url in
            SCEPHTTPClient(client: httpClient, url: url, timeout: timeout)
        }.add(to: router)
        if let deviceCA {
            let renderer = CommandRenderer(store: store, serverURL: settings.serverURL)
            MDMRoutes<BasicRequestContext>(
                store: store, verifier: deviceCA, renderer: renderer, scheme: settings.tls == nil ? "http" : "https"
            ).add(to: router)
        }
        var logger = Logger(label: "scepops")
        logger.logLevel = .info
        return Application(
            router: router, server: try settings.tls.map { try .tls(.http1(), tlsConfiguration: $0) } ?? .http1(),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "scepops"),
            services: services, onServerRunning: onServerRunning, logger: logger)
    }
}
