import ArgumentParser
import Foundation
import SCEPOpsCore
import SCEPOpsStore

/// `scepops hosts`: what an operator does about one host.
struct HostsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hosts", abstract: "Act on enrolled hosts.", subcommands: [AllowReenroll.self])

    /// A host that comes back with a new device identity (wiped, or its MDM profile
    /// reinstalled without a CheckOut) is refused while its old identity stands: anyone with
    /// the enrollment profile could otherwise take over its UDID. This lets it in once.
    struct AllowReenroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "allow-reenroll",
            abstract: "Let a host enroll once with a new device identity, within a time limit.")

        @OptionGroup var state: StateOptions

        @Argument(help: "The host's UDID.")
        var udid: String

        @Option(name: .customLong("for"), help: "How long the allowance lasts: 30m, 1h, 2d, or seconds.")
        var duration: String = "1h"

        func validate() throws {
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
