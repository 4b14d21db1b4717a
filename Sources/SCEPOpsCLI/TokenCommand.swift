import ArgumentParser
import Foundation
import SCEPOpsCore
import SCEPOpsStore

/// `scepops token`: the admin API's bearer tokens, kept in the state as digests.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Create, list and revoke the admin API's tokens.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Create a token and print it, alone, on stdout: it is shown this once.",
            discussion: """
                read: status, history, show, drift, hosts, certificates. plan: read and plan. apply: plan and apply.

                Examples:
                  SCEPOPS_TOKEN=$(scepops token create --name ci-plan --role plan --expires 90d)
                  scepops token create --name dashboards --role read
                """)

        @OptionGroup var state: StateOptions

        @Option(help: "The token's name, as list, revoke and the server's log show it.")
        var name: String

        @Option(help: "read, plan or apply.")
        var role: TokenRole

        @Option(help: "How long it lasts: 30d, 12h, or seconds (default: until revoked).")
        var expires: String?

        func validate() throws {
            if let problem = TokenName.problem(name) { throw ValidationError(problem) }
            if let expires, DurationText.seconds(expires) == nil {
                throw ValidationError("--expires must be a duration such as 90d, 12h or 30m")
            }
        }

        func run() async throws {
            let now = Date()
            let token = APIToken(
                name: name, role: role, createdAt: now, expiresAt: expires.flatMap { DurationText.seconds($0) }.map { now.addingTimeInterval($0) })
            let secret = APITokenSecret.generate()
            let (store, _) = try await state.openExisting(access: .readWrite)
            guard try await TokenCommand.run({ try await store.createToken(token, digest: APITokenSecret.digest(secret)) }) else {
                Output.error("error: a token named \(name) exists in the state \(state.shown) (revoked ones too); choose another name")
                throw ExitStatus.failure
            }
            Output.write(secret + "\n")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the tokens: name, role, dates; never the token.",
            discussion: """
                Examples:
                  scepops token list --db scepops.db
                  scepops token list --format json
                """)

        @OptionGroup var state: StateOptions

        @Option(help: "text or json.")
        var format: DataFormat = .text

        func run() async throws {
            let (store, _) = try await state.openExisting()
            let tokens = try await TokenCommand.run { try await store.tokens() }
            switch format {
            case .json:
                Output.write(JSONOutput.render(["tokens": tokens.map(Self.json)]))
            case .text:
                guard !tokens.isEmpty else { return Output.write("No tokens.\n") }
                let rows = [["NAME", "ROLE", "CREATED", "EXPIRES", "LAST USED", "STATE"]] + tokens.map(Self.row)
                Output.write(Self.table(rows))
            }
        }

        static func stamp(_ date: Date?) -> String { date?.ISO8601Format() ?? "-" }

        static func row(_ token: APIToken) -> [String] {
            [token.name, token.role.rawValue, stamp(token.createdAt), stamp(token.expiresAt), stamp(token.lastUsedAt), token.state(at: Date()).rawValue]
        }

        static func json(_ token: APIToken) -> [String: Any] {
            [
                "name": token.name, "role": token.role.rawValue, "created_at": stamp(token.createdAt),
                "expires_at": token.expiresAt.map(stamp) ?? NSNull(), "revoked_at": token.revokedAt.map(stamp) ?? NSNull(),
                "last_used_at": token.lastUsedAt.map(stamp) ?? NSNull(), "state": token.state(at: Date()).rawValue,
            ]
        }

        static func table(_ rows: [[String]]) -> String {
            let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
            return rows.map { row in
                row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                    .trimmingCharacters(in: .whitespaces)
            }.joined(separator: "\n") + "\n"
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke",
            abstract: "Revoke a token: the server refuses it (401) from then on.",
            discussion: """
                Examples:
                  scepops token revoke ci-plan
                """)

        @OptionGroup var state: StateOptions

        @Argument(help: "The token's name.")
        var name: String

        func run() async throws {
            let (store, _) = try await state.openExisting(access: .readWrite)
            guard try await TokenCommand.run({ try await store.revokeToken(name: name, now: Date()) }) else {
                Output.error("error: no live token named \(name) in the state \(state.shown)")
                throw ExitStatus.failure
            }
            Output.write("Token \(name) revoked.\n")
        }
    }

    /// A store call whose failure is reported as the store says it, exit 1.
    static func run<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StoreError {
            Output.error("error[\(error.code.rawValue)]: \(error.message)")
            throw ExitStatus.failure
        }
    }
}

extension TokenRole: ExpressibleByArgument {}
