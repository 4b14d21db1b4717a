import Hummingbird
import Prometheus
import SCEPOpsCore
import Synchronization

/// What `/metrics` exposes (Prometheus text format): requests by route and status, the
/// latency of the CAs behind the proxy, the command queue's depth, pushes by result and
/// the worker's cycle time.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let cycleTime: DurationHistogram
    let queueDepth: Gauge
    /// The fleet gauges last set, so that a CA or team that went away drops to zero.
    private let fleetSeries = Mutex<Set<FleetGauges.Gauge>>([])
    /// Proxied requests each CA failed, since start: the status page's view of a CA's health.
    private let upstreamErrors = Mutex<[String: Int]>([:])
    var upstreamErrorCounts: [String: Int] { upstreamErrors.withLock { $0 } }
    /// Series already made, by metric and labels: the registry's `make…` builds a series'
    /// name and labels each time, which every request and every push paid. Few keys: each
    /// label's values are a closed set (routes, statuses, results, reasons) or the CAs the
    /// state knows (a CA is named only after its lookup succeeded).
    private let counters = Mutex<[Series: Counter]>([:])
    private let upstreamDurations = Mutex<[String: DurationHistogram]>([:])

    private struct Series: Hashable {
        var metric: String
        var labels: [String]
    }

    static let latencyBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(100),
        .milliseconds(500), .seconds(1), .seconds(5), .seconds(30),
    ]

    public init() {
        cycleTime = registry.makeDurationHistogram(
            descriptor: Self.name("worker_cycle_duration", "seconds", "Time one render-and-push cycle took"),
            labels: [], buckets: Self.latencyBuckets)
        queueDepth = registry.makeGauge(
            descriptor: Self.name("command_queue", "depth", "Host commands queued or sent and not yet answered"), labels: [])
        registry.makeGauge(
            descriptor: Self.name("build", "info", "The running scepops: its version and commit"),
            labels: [("version", SCEPOpsVersion.current), ("commit", SCEPOpsVersion.commit)]
        ).set(Int64(1))
    }

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scepops", metricName: metric, unitName: unit, helpText: help)
    }

    /// The counter `descriptor` names, with `labels`, made the first time it is asked for.
    private func counter(_ descriptor: MetricNameDescriptor, _ labels: [(String, String)]) -> Counter {
        let series = Series(metric: descriptor.metricName, labels: labels.flatMap { [$0.0, $0.1] })
        return counters.withLock { counters in
            if let made = counters[series] { return made }
            let made = registry.makeCounter(descriptor: descriptor, labels: labels)
            counters[series] = made
            return made
        }
    }

    func request(route: String, status: Int) {
        counter(
            Self.name("http_requests", "total", "HTTP requests by route and status"),
            [("route", route), ("status", String(status))]
        ).increment()
    }

    /// The time a CA behind the proxy took to answer, by CA: only when it was asked, not for
    /// an answer kept from an earlier ask.
    func upstream(_ certificateAuthority: String, took duration: Duration) {
        let histogram = upstreamDurations.withLock { histograms in
            if let made = histograms[certificateAuthority] { return made }
            let made = registry.makeDurationHistogram(
                descriptor: Self.name("scep_upstream_duration", "seconds", "Time the CA behind the proxy took to answer, by CA"),
                labels: [("certificate_authority", certificateAuthority)], buckets: Self.latencyBuckets)
            histograms[certificateAuthority] = made
            return made
        }
        histogram.record(duration)
    }

    /// A CA behind the proxy that timed out or failed, by CA and reason (timeout, failed).
    func upstreamError(_ certificateAuthority: String, reason: String) {
        upstreamErrors.withLock { $0[certificateAuthority, default: 0] += 1 }
        counter(
            Self.name("scep_upstream_errors", "total", "Proxied SCEP requests the CA failed or did not answer in time, by CA"),
            [("certificate_authority", certificateAuthority), ("reason", reason)]
        ).increment()
    }

    func push(_ result: String) {
        counter(Self.name("apns_pushes", "total", "APNs pushes by result"), [("result", result)]).increment()
    }

    func proxyRefusal(_ reason: String) {
        counter(
            Self.name("proxy_refusals", "total", "SCEP proxy requests refused before reaching a CA, by reason"),
            [("reason", reason)]
        ).increment()
    }

    func redelivery(_ result: String) {
        counter(
            Self.name("proxy_redeliveries", "total", "Deliveries whose token was spent without a certificate"),
            [("result", result)]
        ).increment()
    }

    static let fleetHelp = [
        "certificates": "Managed certificates hosts hold, by CA and expiry bucket",
        "deliveries": "Profile deliveries to hosts, by status",
        "hosts": "Hosts, by team",
    ]

    func fleet(_ gauges: [FleetGauges.Gauge]) {
        let current = Set(gauges.map { FleetGauges.Gauge(name: $0.name, labels: $0.labels, value: 0) })
        let gone = fleetSeries.withLock { seen in
            defer { seen = current }
            return seen.subtracting(current)
        }
        for gauge in gauges + Array(gone) {
            registry.makeGauge(
                descriptor: Self.name(gauge.name, "", Self.fleetHelp[gauge.name] ?? ""),
                labels: gauge.labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            ).set(Int64(gauge.value))
        }
    }

    /// Renewals started, renewed, failed and to be retried.
    func renewal(_ result: String, _ count: Int) {
        counter(
            Self.name("renewals", "total", "Certificate renewals by result (started, renewed, retrying, failed)"),
            [("result", result)]
        ).increment(by: Int64(count))
    }

    func mdmRefusal(_ reason: String) {
        counter(
            Self.name("mdm_refusals", "total", "MDM check-ins and command reports refused, by reason"),
            [("reason", reason)]
        ).increment()
    }

    func adminRefusal(_ reason: String) {
        counter(
            Self.name("admin_refusals", "total", "Admin API calls refused for their token, by reason"),
            [("reason", reason)]
        ).increment()
    }

    /// A route label that cannot grow without bound: the path's known prefix.
    static func route(_ path: String) -> String {
        for prefix in ["/mdm/scep/proxy", "/mdm/apple/checkin", "/mdm/apple/command", "/healthz", "/metrics", "/v1/"]
        where path.hasPrefix(prefix) {
            return prefix
        }
        return "other"
    }
}

/// Counts every request by route and status, errors included.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let route = ServerMetrics.route(request.uri.path)
        do {
            let response = try await next(request, context)
            metrics.request(route: route, status: Int(response.status.code))
            return response
        } catch let error as HTTPResponseError {
            metrics.request(route: route, status: Int(error.status.code))
            throw error
        } catch {
            metrics.request(route: route, status: 500)
            throw error
        }
    }
}
