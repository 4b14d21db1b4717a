import Foundation
import Logging
import MDM
import SCEPOpsCore
import SCEPOpsStore
import ServiceLifecycle

/// Makes queued deliveries ready for hosts (docs/contract.md §4): each install gets a fresh one-time
/// token for its proxy URL, every command a CommandUUID, and each host with new commands
/// one push. Runs beside the HTTP server; commands that apply queues are ready within a
/// poll interval (1 s), not a full cycle.
public struct ProfileWorker: Service {
    public struct Settings: Sendable {
        public var pollInterval: Duration
        public var batchSize: Int
        public var tokenLifetime: TimeInterval
        /// How often each enrolled host is asked for its ProfileList; nil: never.
        public var verifyInterval: TimeInterval?
        /// How long a batch of commands, or of pushes, is this worker's: one that dies with
        /// a claim leaves it to the other servers (or to itself, restarted) after this long.
        public var claimLifetime: TimeInterval

        public init(
            pollInterval: Duration = .seconds(1), batchSize: Int = 1000,
            tokenLifetime: TimeInterval = SQLiteStore.defaultTokenLifetime, verifyInterval: TimeInterval? = 3600,
            claimLifetime: TimeInterval = 60
        ) {
            self.pollInterval = pollInterval
            self.batchSize = batchSize
            self.tokenLifetime = tokenLifetime
            self.verifyInterval = verifyInterval
            self.claimLifetime = claimLifetime
        }
    }

    public struct CycleResult: Sendable, Hashable {
        /// Commands made ready (assigned a CommandUUID, and a token where they need one).
        public var rendered = 0
        public var failed = 0
        /// Hosts asked for their ProfileList in this cycle.
        public var verifying = 0
        /// Pushes APNs accepted, and tokens it called stale.
        public var pushed = 0
        public var staleTokens = 0

        public init(rendered: Int = 0, failed: Int = 0, verifying: Int = 0, pushed: Int = 0, staleTokens: Int = 0) {
            self.rendered = rendered
            self.failed = failed
            self.verifying = verifying
            self.pushed = pushed
            self.staleTokens = staleTokens
        }
    }

    let store: any DeliveryStore
    let settings: Settings
    /// Nil: pushes are off, and hosts get their commands when they next check in.
    let pusher: APNsClient?
    let metrics: ServerMetrics?
    let logger: Logger
    /// Pushes in flight at once.
    public static let pushConcurrency = 64

    public init(
        store: any DeliveryStore, settings: Settings, pusher: APNsClient? = nil, metrics: ServerMetrics? = nil,
        logger: Logger = Logger(label: "scepops.worker")
    ) {
        self.store = store
        self.settings = settings
        self.pusher = pusher
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let started = ContinuousClock.now
                let result = try await cycle()
                metrics?.cycleTime.record(ContinuousClock.now - started)
                metrics?.queueDepth.set(Int64(try await store.queueDepth()))
                if result != CycleResult() {
                    logger.info(
                        "worker cycle",
                        metadata: [
                            "rendered": "\(result.rendered)", "failed": "\(result.failed)", "verifying": "\(result.verifying)",
                            "pushed": "\(result.pushed)", "stale_tokens": "\(result.staleTokens)",
                        ])
                }
            } catch {
                // Stopping: a pass cut short is not a failure.
                if Task.isCancelled || Task.isShuttingDownGracefully { break }
                // The state may be busy or briefly unavailable: try again next time.
                logger.error("render cycle failed", metadata: ["error": "\(error.code.rawValue)"])
            }
            // A SIGTERM ends the wait, not just the next pass.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: settings.pollInterval) }
        }
    }

    /// Queues ProfileList for hosts not asked within the verify interval, then makes every
    /// queued command ready (a CommandUUID; for an install through the proxy, a fresh
    /// one-time token), a batch at a time, and pushes the hosts that got commands. The
    /// commands themselves are rendered when a device fetches them (`CommandRenderer`), so
    /// no rendered profile, and no challenge, is ever stored.
    public func cycle(now: Date = Date()) async throws(StoreError) -> CycleResult {
        var result = CycleResult()
        if let interval = settings.verifyInterval {
            result.verifying = try await store.queueProfileLists(before: now.addingTimeInterval(-interval), limit: settings.batchSize)
        }
        try await store.dropSupersededCommands()
        // Each batch's hosts are pushed while the next batch is readied: readying waits on the
        // state's writer (and its fsync), pushing on APNs, so a cycle takes about the longer
        // of the two rather than their sum. One round of pushes at a time; telling the state
        // what a round did overlaps the next round (it waits on the writer, behind readying).
        // APNs asking to retry ends the pushing: what is due waits for the next cycle.
        let readied = await withTaskGroup(of: Result<RoundStep, StoreError>.self) {
            rounds -> Result<(CycleResult, retrying: Bool), StoreError> in
            var result = result
            var retrying = false
            var pushing = false
            var challenges: [String: ChallengeCheck] = [:]
            do throws(StoreError) {
                while try await readyBatch(now: now, challenges: &challenges, into: &result) {
                    guard pusher != nil, !retrying else { continue }
                    if pushing {
                        // The round before: its pushes, then its record alongside.
                        pushing = false
                        while let step = try await rounds.next()?.get() {
                            guard case .pushed(let round) = step else { continue }
                            retrying = result.add(round.counts)
                            rounds.addTask {
                                do throws(StoreError) {
                                    try await record(round)
                                    return .success(.recorded)
                                } catch { return .failure(error) }
                            }
                            break
                        }
                    }
                    if retrying { continue }
                    pushing = true
                    rounds.addTask {
                        do throws(StoreError) { return .success(.pushed(try await pushes())) } catch { return .failure(error) }
                    }
                }
                for await step in rounds {
                    guard case .pushed(let round) = try step.get() else { continue }
                    retrying = result.add(round.counts) || retrying
                    try await record(round)
                }
                return .success((result, retrying))
            } catch {
                rounds.cancelAll()
                return .failure(error)
            }
        }
        let (readiedResult, retrying) = try readied.get()
        result = readiedResult
        // What is still due: the last batch's hosts, and any a killed server left behind.
        while pusher != nil, !retrying {
            let round = try await pushes()
            try await record(round)
            if result.add(round.counts) || round.counts.finished { break }
        }
        return result
    }

    /// Claims one batch of queued commands and makes it ready; false when none was queued.
    private func readyBatch(now: Date, challenges: inout [String: ChallengeCheck], into result: inout CycleResult)
        async throws(StoreError) -> Bool
    {
        let pending = try await store.claimCommands(limit: settings.batchSize, now: now, lifetime: settings.claimLifetime)
        if pending.isEmpty { return false }
        var assigned: [AssignedCommand] = []
        for command in pending {
            var token: String?
            var ca: String?
            if command.type == .installProfile {
                guard command.content != nil else {
                    try await store.failDelivery(command, detail: "the profile no longer exists")
                    logger.warning("delivery failed", metadata: ["udid": "\(command.host)", "profile": "\(command.profile)", "reason": "the profile no longer exists"])
                    result.failed += 1
                    continue
                }
                if let name = command.certificateAuthorities.first {
                    let check: ChallengeCheck
                    if let known = challenges[name] {
                        check = known
                    } else {
                        check = try await checkChallenge(of: name)
                        challenges[name] = check
                    }
                    if let detail = check.failure(name) {
                        // This CA's deliveries fail with the reason; every other CA's go on.
                        try await store.failDelivery(command, detail: detail)
                        logger.warning("delivery failed", metadata: ["udid": "\(command.host)", "profile": "\(command.profile)", "ca": "\(name)", "reason": "\(detail)"])
                        result.failed += 1
                        continue
                    }
                    token = SecretBox.randomToken()
                    ca = name
                }
            }
            assigned.append(
                AssignedCommand(
                    id: command.id, host: command.host, profile: command.profile, commandUUID: SecretBox.randomUUID(),
                    token: token, certificateAuthority: ca))
        }
        try await store.recordAssigned(assigned, tokenLifetime: settings.tokenLifetime)
        for command in assigned {
            logger.debug("command ready", metadata: ["udid": "\(command.host)", "profile": "\(command.profile)", "command": "\(command.commandUUID)", "ca": "\(command.certificateAuthority ?? "")"])
        }
        result.rendered += assigned.count
        return true
    }

    /// Whether a CA's challenge can be had for rendering.
    enum ChallengeCheck: Sendable, Hashable {
        case available
        case missing
        /// Sealed under another key, or damaged.
        case unreadable

        func failure(_ name: String) -> String? {
            switch self {
            case .available: nil
            case .missing:
                "Couldn't populate \(FleetVariable.customSCEPChallenge(ca: name).name) because \(name) certificate authority doesn't exist."
            case .unreadable:
                "Couldn't populate \(FleetVariable.customSCEPChallenge(ca: name).name): the challenge of \(name) stored in the state cannot be decrypted (damaged, or sealed with another key); apply the CA's challenge again."
            }
        }
    }

    /// A challenge that cannot be opened is that CA's problem alone; a state that cannot
    /// be read is everyone's, and fails the cycle.
    private func checkChallenge(of name: String) async throws(StoreError) -> ChallengeCheck {
        do {
            return try await store.challenge(of: name) == nil ? .missing : .available
        } catch where error.code == .corrupt || error.code == .wrongKey {
            logger.error("a CA's challenge cannot be decrypted", metadata: ["certificate_authority": "\(name)"])
            return .unreadable
        }
    }

    static func label(_ outcome: APNsClient.Outcome) -> String {
        switch outcome {
        case .delivered: "delivered"
        case .staleToken: "stale_token"
        case .retryLater: "retry_later"
        case .failed: "failed"
        }
    }

    /// What one round of pushes did; `finished` when nothing more is due this cycle.
    struct PushRound: Sendable {
        var pushed = 0
        var staleTokens = 0
        /// APNs asked to try some hosts later.
        var retrying = false
        var finished = true
    }

    /// A round's pushes, and what the state has yet to be told of them.
    struct PushedRound: Sendable {
        var counts = PushRound()
        var outcomes: [(host: String, outcome: APNsClient.Outcome)] = []
    }

    /// What a cycle's task did: pushed a round, or recorded one in the state.
    enum RoundStep: Sendable {
        case pushed(PushedRound)
        case recorded
    }

    /// One push per host with new commands, however many it got, for one batch of the hosts
    /// the state marked due: this cycle's, and any a killed server left behind. Claimed
    /// until `record`, so no other round or server pushes them meanwhile.
    private func pushes() async throws(StoreError) -> PushedRound {
        var round = PushedRound()
        guard let pusher else { return round }
        let targets = try await store.pushesDue(limit: settings.batchSize, now: Date(), lifetime: settings.claimLifetime)
        if targets.isEmpty { return round }
        round.outcomes = await withTaskGroup(of: (host: String, outcome: APNsClient.Outcome).self) { group in
            var outcomes: [(host: String, outcome: APNsClient.Outcome)] = []
            outcomes.reserveCapacity(targets.count)
            var iterator = targets.makeIterator()
            for _ in 0..<Self.pushConcurrency {
                guard let target = iterator.next() else { break }
                group.addTask { (target.host, await pusher.push(token: target.token, pushMagic: target.pushMagic)) }
            }
            while let outcome = await group.next() {
                outcomes.append(outcome)
                if let target = iterator.next() {
                    group.addTask { (target.host, await pusher.push(token: target.token, pushMagic: target.pushMagic)) }
                }
            }
            return outcomes
        }
        for (_, outcome) in round.outcomes {
            switch outcome {
            case .delivered: round.counts.pushed += 1
            case .staleToken: round.counts.staleTokens += 1
            // What APNs asked to retry waits for the next cycle, not this loop.
            case .retryLater: round.counts.retrying = true
            case .failed: break
            }
        }
        round.counts.finished = round.counts.retrying || targets.count < settings.batchSize
        return round
    }

    /// Tells the state what a round's pushes did: stale tokens marked, the rest no longer
    /// due but what APNs asked to retry.
    private func record(_ round: PushedRound) async throws(StoreError) {
        var done: [String] = []
        var later: [String] = []
        for (host, outcome) in round.outcomes {
            metrics?.push(Self.label(outcome))
            switch outcome {
            case .delivered:
                logger.debug("pushed", metadata: ["udid": "\(host)"])
                done.append(host)
            case .staleToken:
                try await store.markPushStale(host: host)
                logger.warning("push token stale: the host must check in again", metadata: ["udid": "\(host)"])
                done.append(host)
            case .failed(let reason):
                logger.warning("push not delivered", metadata: ["udid": "\(host)", "reason": "\(reason)"])
                done.append(host)
            case .retryLater(let reason):
                // Still due: the next cycle tries again.
                logger.warning("push not delivered", metadata: ["udid": "\(host)", "reason": "\(reason)"])
                later.append(host)
            }
        }
        try await store.pushesDone(hosts: done, retrying: later)
    }
}

extension ProfileWorker.CycleResult {
    /// Counts the round in; whether APNs asked to retry some of it.
    mutating func add(_ round: ProfileWorker.PushRound) -> Bool {
        pushed += round.pushed
        staleTokens += round.staleTokens
        return round.retrying
    }
}

extension ProfileWorker: CustomStringConvertible {
    /// As the service lifecycle logs it: the name, not every setting and the store inside.
    public var description: String { "ProfileWorker" }
}
