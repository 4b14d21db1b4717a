import Foundation

/// The end of a simulator run. The JSON keys `hosts`, `enrolled`, `certificates`,
/// `failures`, `p50_ms` and `p99_ms` are the contract; the rest adds detail.
public struct SimulatorSummary: Codable, Sendable {
    public var hosts: Int
    public var enrolled: Int
    /// Profile certificates issued in this run.
    public var certificates: Int
    public var failures: [String: Int]
    /// Enrolment time (device identity, Authenticate, TokenUpdate) of the hosts enrolled in this run.
    public var p50Milliseconds: Double
    public var p99Milliseconds: Double
    public var scepExchanges: Int
    public var scepP50Milliseconds: Double
    public var scepP99Milliseconds: Double
    /// From the first profile SCEP exchange's start to the last one's end.
    public var scepWindowMilliseconds: Double
    /// Hosts that settled (no install or removal for the settle time, and a ProfileList answered since).
    public var settled: Int
    public var durationMilliseconds: Double
    /// Hosts enrolled in this run over the time the enrolment phase took.
    public var enrollmentsPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case hosts, enrolled, certificates, failures, settled
        case p50Milliseconds = "p50_ms"
        case p99Milliseconds = "p99_ms"
        case scepExchanges = "scep_exchanges"
        case scepP50Milliseconds = "scep_p50_ms"
        case scepP99Milliseconds = "scep_p99_ms"
        case scepWindowMilliseconds = "scep_window_ms"
        case durationMilliseconds = "duration_ms"
        case enrollmentsPerSecond = "enrollments_per_second"
    }

    public var failed: Bool { !failures.isEmpty }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self) + "\n"
    }

    public func text() -> String {
        var lines = [
            "Simulated \(hosts) host(s): \(enrolled) enrolled, \(certificates) certificate(s) issued, \(settled) settled, \(failures.values.reduce(0, +)) failure(s) in \(Self.format(durationMilliseconds / 1000)) s.",
            "Enrolment: p50 \(Self.format(p50Milliseconds)) ms, p99 \(Self.format(p99Milliseconds)) ms (\(Self.format(enrollmentsPerSecond)) per second).",
            "Profile SCEP exchanges: \(scepExchanges), p50 \(Self.format(scepP50Milliseconds)) ms, p99 \(Self.format(scepP99Milliseconds)) ms.",
        ]
        for (reason, count) in failures.sorted(by: { $0.key < $1.key }) { lines.append("Failed: \(reason) × \(count)") }
        return lines.joined(separator: "\n") + "\n"
    }

    static func percentile(_ values: [Double], _ fraction: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))]
    }

    static func format(_ value: Double) -> String {
        String(format: value >= 100 ? "%.0f" : "%.1f", value)
    }
}
