import ArgumentParser
import Foundation
import SCEPOpsCore
import SCEPOpsServer
import SCEPOpsStore

/// `scepops hosts`: the hosts the state knows, and what an operator does about one.
struct HostsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hosts", abstract: "List enrolled hosts, or act on one.", subcommands: [List.self, AllowReenroll.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List hosts: serial, UDID, team, last seen, deliveries by status.",
            discussion: """
                Examples:
                  scepops hosts
                  scepops hosts --team Kiosks --format json
                  SCEPOPS_TOKEN=… scepops hosts --server https://scepops.example.com:8443
                """)

        @OptionGroup var state: StateOptions

        @OptionGroup var remote: RemoteOptions

        @Option(help: "Only the hosts of this team.")
        var team: String?

        @Option(help: "Output format.")
        var format: DataFormat = .text

        func run() async throws {
            if remote.url != nil {
                return Output.write(try await remote.get("/v1/hosts", query: ["team": team, "format": format.rawValue]))
            }
            let (store, _) = try await state.openExisting()
            let hosts: [HostSummary]
            do {
                hosts = HostsReport.filter(try await store.hosts(), team: team)
            } catch {
                Output.error("error[\(error.code.rawValue)]: \(error.message)")
                throw ExitStatus.failure
            }
            Output.write(format == .json ? HostsReport.json(hosts) : HostsReport.text(hosts))
        }
    }

    /// A host that comes back with a new device identity (wiped, or its MDM profile
    /// reinstalled without a CheckOut) is refused while its old identity stands: anyone with
    /// the enrollment profile could otherwise take over its UDID. This lets it in once.
    struct AllowReenroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "allow-reenroll",
            abstract: "Let a host enroll once with a new device identity, within a time limit.",
            discussion: """
                Examples:
                  scepops hosts allow-reenroll 0000FE00-1234-5678-9ABC-DEF012345678 --for 2h
                """)

        @OptionGroup var state: StateOptions

        @Argument(help: "The host's UDID.")
        var udid: String

        @Option(name: .customLong("for"), help: "How long the allowance lasts: 30m, 1h, 2d, or seconds.")
        var duration: String = "1h"

        func validate() throws {
            // The server refuses such a UDID from a device, so no host has one; and echoed
            // back, it would reach the terminal raw.
            guard !ControlCharacters.present(in: udid.utf8) else {
                throw ValidationError("the UDID holds a control character")
            }
            guard DurationText.seconds(duration) != nil else {
                throw ValidationError("--for must be a duration such as 30m, 1h or 2d")
            }
        }

        func run() async throws {
            let until = Date().addingTimeInterval(DurationText.seconds(duration)!)
            let (store, _) = try await state.openExisting(access: .readWrite)
            do {
                guard try await store.allowReenrollment(host: udid, until: until) else {
                    Output.error("error: no host \(udid) in the state \(state.shown)")
                    throw ExitStatus.failure
                }
            } catch let error as StoreError {
                Output.error("error[\(error.code.rawValue)]: \(error.message)")
                throw ExitStatus.failure
            }
            Output.write("Host \(udid) may enroll once with a new device identity until \(until.ISO8601Format()).\n")
        }
    }
}
