import Foundation
import HTTPTypes
import SCEPOpsCore

/// The bodies of the admin API's plan, apply and drift calls: what remote mode sends and
/// reads back. Each answer carries what the CLI prints (`rendered`), so remote and local
/// mode print the same bytes.
public enum AdminWire {
    public struct PlanCall: CarriesConfig {
        public var config: ConfigUpload
        public var caCheck: Reconciler.CACheck
        public var format: ReportFormat

        public init(config: ConfigUpload, caCheck: Reconciler.CACheck, format: ReportFormat) {
            self.config = config
            self.caCheck = caCheck
            self.format = format
        }

        enum CodingKeys: String, CodingKey {
            case config, format
            case caCheck = "ca_check"
        }
    }

    public struct PlanAnswer: Codable, Sendable {
        /// With its binding: the body of a plan file when the plan can be applied.
        public var plan: PlanDocument
        public var rendered: String
    }

    public struct ApplyCall: CarriesConfig {
        public var config: ConfigUpload
        public var caCheck: Reconciler.CACheck
        /// The binding of the plan that was reviewed (a plan file's): applied only if it is
        /// still what planning gives. Nil applies what planning gives now.
        public var reviewed: PlanDocument.Binding?
        /// The reviewed plan's changes, for `apply --same-changes`.
        public var sameChanges: [PlanDocument.Change]?
        public var allowDestroy: Bool
        /// Who asked, as the CI system names them; the history adds the token's name.
        public var actor: String
        /// Seconds to wait for another apply's lock (at most 600), and after which a lock
        /// counts as abandoned.
        public var lockTimeout: Double
        public var lockTTL: Double

        public init(
            config: ConfigUpload, caCheck: Reconciler.CACheck, reviewed: PlanDocument.Binding?,
            sameChanges: [PlanDocument.Change]?, allowDestroy: Bool, actor: String, lockTimeout: Double, lockTTL: Double
        ) {
            self.config = config
            self.caCheck = caCheck
            self.reviewed = reviewed
            self.sameChanges = sameChanges
            self.allowDestroy = allowDestroy
            self.actor = actor
            self.lockTimeout = lockTimeout
            self.lockTTL = lockTTL
        }

        enum CodingKeys: String, CodingKey {
            case config, reviewed, actor
            case caCheck = "ca_check"
            case allowDestroy = "allow_destroy"
            case sameChanges = "same_changes"
            case lockTimeout = "lock_timeout"
            case lockTTL = "lock_ttl"
        }
    }

    public struct ApplyAnswer: Codable, Sendable {
        public enum Result: String, Codable, Sendable {
            case applied
            case noChanges = "no_changes"
            case invalid
            case refused
        }

        public struct Record: Codable, Sendable {
            public var id: Int64
            public var stateRevision: Int

            enum CodingKeys: String, CodingKey {
                case id
                case stateRevision = "state_revision"
            }
        }

        public struct Refusal: Codable, Sendable {
            /// The CLI's code: `stale-plan`, `destroys-everything`, `locked`, …
            public var code: String
            public var message: String
        }

        public var result: Result
        public var plan: PlanDocument?
        /// The plan as text, as apply prints it.
        public var rendered: String?
        public var notices: [String]
        public var apply: Record?
        public var error: Refusal?
    }

    public struct DriftCall: CarriesConfig {
        public var config: ConfigUpload
        public var run: DriftRun
        public var format: ReportFormat

        public init(config: ConfigUpload, run: DriftRun, format: ReportFormat) {
            self.config = config
            self.run = run
            self.format = format
        }
    }

    public struct DriftAnswer: Codable, Sendable {
        public var rendered: String
        /// `scepops drift`'s exit code (docs/contract.md §3).
        public var exitCode: Int32

        enum CodingKeys: String, CodingKey {
            case rendered
            case exitCode = "exit_code"
        }
    }

    /// A call that carries a config: `Framed` sends its profile bytes raw.
    public protocol CarriesConfig: Codable, Sendable {
        var config: ConfigUpload { get set }
    }

    /// `application/vnd.scepops.framed`: the call's JSON with each profile's bytes taken
    /// out (their `length` left in), then those bytes, raw, in profile order; preceded by
    /// the JSON's length in decimal and a newline. 10,000 profiles as base64 in JSON cost
    /// the client and the server a third of a second of encoding and decoding; this costs
    /// a copy.
    public enum Framed {
        public static let contentType = "application/vnd.scepops.framed"

        public static func encode<Call: CarriesConfig>(_ call: Call, _ config: UnvalidatedConfig) -> Data {
            var call = call
            var blob: [UInt8] = []
            blob.reserveCapacity(config.profiles.reduce(0) { $0 + ($1.content?.count ?? 0) })
            for (index, file) in config.profiles.enumerated() {
                guard let bytes = file.content else { continue }
                call.config.profiles[index].content = nil
                call.config.profiles[index].length = bytes.count
                blob += bytes
            }
            // Unsorted: no one reads a request's keys, and sorting 10,000 profiles' costs time.
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            let json = (try? encoder.encode(call)) ?? Data("{}".utf8)
            var body = Data("\(json.count)\n".utf8)
            body.append(json)
            body.append(contentsOf: blob)
            return body
        }

        /// Nil for a body that is not one.
        public static func decode<Call: CarriesConfig>(_ type: Call.Type, _ body: Data) -> Call? {
            guard let newline = body.prefix(24).firstIndex(of: UInt8(ascii: "\n")),
                let length = Int(String(decoding: body[body.startIndex..<newline], as: UTF8.self)), length >= 0,
                body.endIndex - (newline + 1) >= length,
                var call = try? JSONDecoder().decode(Call.self, from: body[(newline + 1)..<(newline + 1 + length)])
            else { return nil }
            var offset = newline + 1 + length
            for index in call.config.profiles.indices {
                guard let size = call.config.profiles[index].length else { continue }
                guard size >= 0, call.config.profiles[index].content == nil, body.endIndex - offset >= size else { return nil }
                call.config.profiles[index].raw = [UInt8](body[offset..<(offset + size)])
                offset += size
            }
            return offset == body.endIndex ? call : nil
        }
    }

    public static func encode(_ value: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)) ?? Data("{}".utf8)
    }
}

extension AdminWire.ApplyAnswer {
    init(_ applied: Reconciler.Applied) {
        plan = applied.outcome.map { $0.document() }
        rendered = applied.outcome.map { PlanReport.render($0, .text) }
        notices = applied.notices
        error = applied.result.refusal.map { Refusal(code: $0.code, message: $0.message) }
        switch applied.result {
        case .applied(let record):
            result = .applied
            apply = Record(id: record.id, stateRevision: (applied.outcome?.plan.stateRevision ?? 0) + 1)
        case .noChanges: result = .noChanges
        case .invalid: result = .invalid
        case .cancelled, .refused: result = .refused
        }
    }

    /// 200 for an apply that leaves the state as the config wants it; 422 for a config with
    /// errors; 409 for a refusal (stale plan, lock held, every resource deleted); 503 when
    /// the state did not answer.
    var status: HTTPResponse.Status {
        switch result {
        case .applied, .noChanges: .ok
        case .invalid: .unprocessableContent
        case .refused: ["busy", "database"].contains(error?.code ?? "") ? .serviceUnavailable : .conflict
        }
    }
}
