import ArgumentParser
import Foundation
import SCEPOpsConfig
import SCEPOpsCore

/// serve's settings from beyond its command line, turned into flags before parsing so that
/// one parser checks them all: `$SCEPOPS_<FLAG>` (`--admin-listen`: `SCEPOPS_ADMIN_LISTEN`),
/// then the keys of the `--config` file (or `$SCEPOPS_CONFIG`). The command line wins over
/// the environment, the environment over the file.
enum ServeSettings {
    /// Every flag serve takes; `ServeSettingsTests` holds it to serve's help.
    static let names = [
        "db", "key-file", "config", "log-level", "log-format", "listen", "admin-listen", "admin-failure-limit", "admin-trusted-proxy",
        "tls-cert", "tls-key", "worker-interval", "server-url", "upstream-timeout", "upstream-concurrency", "redelivery-backoff",
        "idle-timeout", "body-timeout", "max-connections", "device-ca", "verify-interval", "renewal-interval", "renewal-attempts",
        "renewal-backoff", "renewal-timeout", "apns-cert", "apns-key", "apns-endpoint",
    ]
    static let repeatable: Set<String> = ["admin-trusted-proxy"]

    static func environmentName(_ flag: String) -> String {
        "SCEPOPS_" + flag.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// `arguments` with the settings the command line leaves out added right after `serve`.
    /// Anything but serve passes through as it is (without the environment read).
    static func merged(_ arguments: [String], environment: [String: String]? = nil) throws -> [String] {
        guard arguments.first == "serve", !arguments.contains("--help"), !arguments.contains("-h") else { return arguments }
        let environment = environment ?? ProcessInfo.processInfo.environment
        let given = flagsGiven(arguments)
        var file: [String: [String]] = [:]
        if let path = value(of: "config", in: arguments) ?? environment[environmentName("config")] {
            let (settings, diagnostics) = ServeSettingsFile.read(path: path, allowed: names.filter { $0 != "config" }, environment: environment)
            guard diagnostics.isEmpty else {
                for diagnostic in diagnostics { Output.error(ValidationReport.line(diagnostic)) }
                throw ExitStatus.failure
            }
            file = settings
        }
        var added: [String] = []
        for name in names where name != "config" && !given.contains(name) {
            let values: [String]
            if let text = environment[environmentName(name)] {
                values = repeatable.contains(name) ? text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } : [text]
            } else if let fromFile = file[name] {
                values = fromFile
            } else {
                continue
            }
            // `--flag=value`, so that a value starting with a dash stays a value.
            added += values.map { "--\(name)=\($0)" }
        }
        return [arguments[0]] + added + arguments.dropFirst()
    }

    /// The long flags on the command line, up to a `--`.
    static func flagsGiven(_ arguments: [String]) -> Set<String> {
        var given: Set<String> = []
        for argument in arguments.dropFirst() {
            if argument == "--" { break }
            guard argument.hasPrefix("--") else { continue }
            given.insert(String(argument.dropFirst(2).prefix { $0 != "=" }))
        }
        return given
    }

    static func value(of flag: String, in arguments: [String]) -> String? {
        for (index, argument) in arguments.enumerated() {
            if argument == "--\(flag)", index + 1 < arguments.count { return arguments[index + 1] }
            if argument.hasPrefix("--\(flag)=") { return String(argument.dropFirst(flag.count + 3)) }
        }
        return nil
    }
}
