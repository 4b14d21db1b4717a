import ArgumentParser
import Foundation

extension SCEPOps {
    /// Runs the command line. A usage error exits 1, as every other error does (SPEC §3),
    /// rather than ArgumentParser's 64: CI scripts test for 0, 1 and 2 only.
    public static func runMain(_ arguments: [String]? = nil) async -> Never {
        do {
            var command = try parseAsRoot(arguments)
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
            Foundation.exit(0)
        } catch {
            if exitCode(for: error) == .validationFailure {
                let message = fullMessage(for: error)
                FileHandle.standardError.write(Data("error: \(message)\n".utf8))
                Foundation.exit(ExitStatus.failure.rawValue)
            }
            exit(withError: error)
        }
    }
}
