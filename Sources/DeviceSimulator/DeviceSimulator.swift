import AsyncHTTPClient
import Foundation
import NIOCore
import SCEP

/// Simulates many Apple hosts in one process, all enrolled from one enrollment profile.
/// Hosts may be kept between runs (`stateDirectory`): a later run resumes them, so a test
/// can change the config between runs and watch the same devices follow.
public final class DeviceSimulator: @unchecked Sendable {
    public struct Options: Sendable {
        /// How many hosts; more than a resumed state holds adds new ones.
        public var hosts: Int?
        /// Enrolments in flight at once, and connections to the server.
        public var concurrency = 8
        public var timeout: Double = 300
        /// End each host once it is settled for this long; nil: run until the timeout.
        public var settle: Double?
        public var pollInterval: Double = 1
        /// Identity PKIOperations in flight at once to the identity CA (micromdm's scepserver
        /// fails concurrent ones).
        public var identityConcurrency = 1
        public var stateDirectory: String?
        public var eventsPath: String?

        public init() {}
    }

    let settings: EnrollmentSettings
    let options: Options

    public init(enrollmentProfile: [UInt8], options: Options) throws {
        settings = try EnrollmentSettings(profile: enrollmentProfile)
        self.options = options
    }

    var statePath: String? { options.stateDirectory.map { $0 + "/hosts.json" } }

    public func run() async throws -> SimulatorSummary {
        let started = Date()
        let deadline = started.addingTimeInterval(options.timeout)
        var records: [HostRecord] = []
        if let statePath, let data = FileManager.default.contents(atPath: statePath) {
            records = try JSONDecoder().decode([HostRecord].self, from: data)
        }
        while records.count < (options.hosts ?? 0) { records.append(.new()) }

        let http = SCEPHTTPClient.makeHTTPClient(connections: options.concurrency)
        let events = try EventLog(path: options.eventsPath)
        let timeout = TimeAmount.milliseconds(Int64(min(options.timeout, 60) * 1000))
        let gate = UpstreamGate(limit: options.identityConcurrency)
        // One process plays every device on a few cores: key generation is bounded to
        // `concurrency` exchanges at once, so polls are not starved of CPU.
        let exchanges = UpstreamGate(limit: options.concurrency)
        let hosts = records.map {
            SimulatedHost(
                record: $0, settings: settings, http: http, events: events, timeout: timeout, identityGate: gate,
                exchangeGate: exchanges)
        }
        let newlyEnrolling = Set(hosts.filter { !$0.record.enrolled }.map(\.udid))

        // Enrolment, `concurrency` at a time.
        var enrolled: [SimulatedHost] = []
        await withTaskGroup(of: (SimulatedHost, Bool).self) { group in
            var pending = hosts.makeIterator()
            for _ in 0..<max(1, options.concurrency) {
                guard let host = pending.next() else { break }
                group.addTask { (host, await host.enroll()) }
            }
            for await (host, ok) in group {
                if ok { enrolled.append(host) }
                if let host = pending.next() { group.addTask { (host, await host.enroll()) } }
            }
        }

        let enrolmentSeconds = Date().timeIntervalSince(started)

        // The command channel: every host polls until it settles or time is up.
        let settled = await withTaskGroup(of: Bool.self) { group in
            for host in enrolled {
                group.addTask { [options] in
                    // Without pushes, hosts poll: at once after a command, then backing off
                    // to --poll-interval while nothing comes (a fleet's polls would
                    // otherwise be most of the load).
                    var pause = min(0.25, options.pollInterval)
                    while Date() < deadline {
                        let busy = await host.poll()
                        if let settle = options.settle, host.listedSinceChange,
                            Date().timeIntervalSince(host.lastChange) >= settle
                        {
                            return true
                        }
                        pause = busy ? min(0.25, options.pollInterval) : min(pause * 2, options.pollInterval)
                        try? await Task.sleep(for: .milliseconds(Int(pause * 1000)))
                    }
                    if options.settle != nil { host.fail("not-settled", "still changing when the timeout came") }
                    return false
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        try? await http.shutdown()

        if let statePath {
            try FileManager.default.createDirectory(atPath: options.stateDirectory!, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(hosts.map(\.record)).write(to: URL(fileURLWithPath: statePath), options: .atomic)
        }

        let enrolment = hosts.filter { newlyEnrolling.contains($0.udid) }.compactMap(\.enrollmentMilliseconds)
        let scep = hosts.flatMap(\.scepMilliseconds)
        var failures: [String: Int] = [:]
        for host in hosts { failures.merge(host.failures, uniquingKeysWith: +) }
        let duration = Date().timeIntervalSince(started)
        let windows = hosts.compactMap(\.scepWindow)
        let scepWindow = windows.isEmpty ? 0 : windows.map(\.last).max()!.timeIntervalSince(windows.map(\.first).min()!)
        return SimulatorSummary(
            hosts: hosts.count, enrolled: enrolled.count, certificates: hosts.map(\.certificatesIssued).reduce(0, +),
            failures: failures, p50Milliseconds: SimulatorSummary.percentile(enrolment, 0.5),
            p99Milliseconds: SimulatorSummary.percentile(enrolment, 0.99), scepExchanges: scep.count,
            scepP50Milliseconds: SimulatorSummary.percentile(scep, 0.5), scepP99Milliseconds: SimulatorSummary.percentile(scep, 0.99),
            scepWindowMilliseconds: scepWindow * 1000,
            settled: settled, durationMilliseconds: duration * 1000,
            enrollmentsPerSecond: enrolmentSeconds > 0 ? Double(enrolment.count) / enrolmentSeconds : 0)
    }
}
