import ArgumentParser
import CMalloc
import Foundation
import SCEPOpsConfig
import SCEPOpsCore

extension SCEPOps {
    /// Runs the command line. A usage error exits 1, as every other error does
    /// (docs/contract.md §3), rather than ArgumentParser's 64: CI scripts test for 0, 1 and 2 only.
    public static func runMain(_ arguments: [String]? = nil) async -> Never {
        let arguments = arguments ?? Array(CommandLine.arguments.dropFirst())
        // A one-shot command allocates on every core at once: heaps grown 16 MiB at a time
        // rather than 128 KiB keep it out of the kernel (each growth takes the address-space
        // lock that the other core's page faults wait on). serve keeps malloc's default.
        if arguments.first != "serve" { mallopt(M_TOP_PAD, 16 << 20) }
        // libgit2 starts (a few milliseconds) while the arguments are parsed.
        ConfigLoader.prepare()
        do {
            var command = try parseAsRoot(try ServeSettings.merged(arguments))
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
            ConfigLoader.finishPreparing()
            Foundation.exit(0)
        } catch {
            ConfigLoader.finishPreparing()
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data("error: \(usageMessage(for: error, arguments: arguments))\n".utf8))
                Foundation.exit(ExitStatus.failure.rawValue)
            }
            exit(withError: error)
        }
    }

    /// ArgumentParser's message without its own "Error: " (we print "error: "), and for a
    /// misspelt subcommand the one it was probably meant to be.
    static func usageMessage(for error: Error, arguments: [String]) -> String {
        var message = fullMessage(for: error)
        if message.hasPrefix("Error: ") { message.removeFirst("Error: ".count) }
        // Whatever ArgumentParser tripped on first, a word that is no command but close to one
        // is the mistake to name.
        if let first = arguments.first, !first.hasPrefix("-"), !subcommandNames.contains(first),
            let suggestion = NearestName.closest(to: first, in: subcommandNames)
        {
            message = "unknown command '\(first)'; did you mean '\(suggestion)'?\nUsage: scepops <subcommand>\n  See 'scepops --help' for more information."
        }
        return message
    }

    static var subcommandNames: [String] {
        configuration.subcommands.compactMap { $0.configuration.commandName }
    }
}
