import Foundation
import Logging
import MDM
import SCEPOpsCore
import SCEPOpsStore
import ServiceLifecycle

/// Renders queued deliveries into MDM commands (SPEC §4): each install gets the CA's
/// challenge, the host's proxy URL with a fresh one-time token and the renewal id; each
/// removal becomes RemoveProfile. Runs beside the HTTP server; commands that apply queues
/// are rendered within a poll interval (1 s), not a full cycle.
public struct ProfileWorker: Service {
    public struct Settings: Sendable {
        /// The URL hosts reach this server at; proxy URLs start with it.
        public var serverURL: String
        public var pollInterval: Duration
        public var batchSize: Int
        public var tokenLifetime: TimeInterval
        /// How often each enrolled host is asked for its ProfileList; nil: never.
        public var verifyInterval: TimeInterval?

        public init(
            serverURL: String, pollInterval: Duration = .seconds(1), batchSize: Int = 1000,
            tokenLifetime: TimeInterval = SQLiteStore.defaultTokenLifetime, verifyInterval: TimeInterval? = 3600
        ) {
            self.serverURL = serverURL.hasSuffix("/") ? String(serverURL.dropLast()) : serverURL
            self.pollInterval = pollInterval
            self.batchSize = batchSize
            self.tokenLifetime = tokenLifetime
            self.verifyInterval = verifyInterval
        }
    }

    public struct CycleResult: Sendable, Hashable {
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
    static let pushConcurrency = 64

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
                metrics?.queueDepth.set(Int64(try store.queueDepth()))
                if result.rendered + result.failed > 0 {
                    logger.info("rendered queued commands", metadata: ["rendered": "\(result.rendered)", "failed": "\(result.failed)"])
                }
            } catch {
                // The state may be busy or briefly unavailable: try again next time.
                logger.error("render cycle failed", metadata: ["error": "\(error.code.rawValue)"])
            }
            try? await Task.sleep(for: settings.pollInterval)
        }
    }

    /// Queues ProfileList for hosts not asked within the verify interval, then renders
    /// everything queued, a batch at a time.
    public func cycle(now: Date = Date()) async throws(StoreError) -> CycleResult {
        var result = CycleResult()
        var touched: [String] = []
        if let interval = settings.verifyInterval {
            result.verifying = try store.queueProfileLists(before: now.addingTimeInterval(-interval), limit: settings.batchSize)
        }
        var challenges: [String: Secret?] = [:]
        try store.dropSupersededCommands()
        while true {
            let pending = try store.pendingCommands(limit: settings.batchSize)
            if pending.isEmpty {
                try await push(Array(Set(touched)).sorted(), into: &result)
                return result
            }
            var rendered: [RenderedCommand] = []
            for command in pending {
                let commandUUID = UUID().uuidString
                if command.type == "ProfileList" {
                    rendered.append(
                        RenderedCommand(
                            id: command.id, host: command.host, profile: command.profile, commandUUID: commandUUID,
                            payload: MDMCommand.profileList.plist(commandUUID: commandUUID), token: nil))
                    continue
                }
                guard command.type == "InstallProfile" else {
                    rendered.append(
                        RenderedCommand(
                            id: command.id, host: command.host, profile: command.profile, commandUUID: commandUUID,
                            payload: MDMCommand.removeProfile(identifier: command.identifier).plist(commandUUID: commandUUID),
                            token: nil))
                    continue
                }
                guard let content = command.content else {
                    try store.failDelivery(command, detail: "the profile no longer exists")
                    result.failed += 1
                    continue
                }
                guard let ca = command.certificateAuthorities.first else {
                    rendered.append(
                        RenderedCommand(
                            id: command.id, host: command.host, profile: command.profile, commandUUID: commandUUID,
                            payload: MDMCommand.installProfile(payload: content).plist(commandUUID: commandUUID), token: nil))
                    continue
                }
                if challenges[ca] == nil { challenges[ca] = try store.challenge(of: ca) }
                guard let challenge = challenges[ca] ?? nil else {
                    try store.failDelivery(
                        command,
                        detail:
                            "Couldn't populate \(FleetVariable.customSCEPChallenge(ca: ca).name) because \(ca) certificate authority doesn't exist."
                    )
                    result.failed += 1
                    continue
                }
                let token = SecretBox.randomToken()
                let identifier = ProxyIdentifier(host: command.host, profile: command.profile, certificateAuthority: ca, token: token)
                let values = ProfileRenderer.Values(
                    challenge: challenge, proxyURL: settings.serverURL + "/mdm/scep/proxy/" + identifier.pathComponent,
                    renewalID: "fleet-\(command.profile)")
                do {
                    let profile = try ProfileRenderer.render(content, certificateAuthority: ca, values: values)
                    rendered.append(
                        RenderedCommand(
                            id: command.id, host: command.host, profile: command.profile, commandUUID: commandUUID,
                            payload: MDMCommand.installProfile(payload: profile).plist(commandUUID: commandUUID),
                            token: (token, ca)))
                } catch {
                    try store.failDelivery(command, detail: "the profile cannot be rendered: \(error)")
                    result.failed += 1
                }
            }
            try store.recordRendered(rendered, tokenLifetime: settings.tokenLifetime)
            result.rendered += rendered.count
            touched += rendered.map(\.host)
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

    /// One push per host with new commands, however many it got.
    private func push(_ hosts: [String], into result: inout CycleResult) async throws(StoreError) {
        guard let pusher, !hosts.isEmpty else { return }
        let targets = try store.pushTargets(hosts: hosts)
        let outcomes = await withTaskGroup(of: (String, APNsClient.Outcome).self) { group in
            var outcomes: [(String, APNsClient.Outcome)] = []
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
        for (host, outcome) in outcomes {
            metrics?.push(Self.label(outcome))
            switch outcome {
            case .delivered: result.pushed += 1
            case .staleToken:
                try store.markPushStale(host: host)
                result.staleTokens += 1
            case .retryLater(let reason), .failed(let reason):
                logger.warning("push not delivered", metadata: ["host": "\(host)", "reason": "\(reason)"])
            }
        }
    }
}
