import Foundation
import SCEPOpsCore
import Yams

/// Reads `serve --config FILE`: a mapping from serve's long flag names to values, a list for
/// a repeatable flag. `${NAME}` is expanded from the environment, so a database password can
/// stay out of the file.
///
/// ```yaml
/// listen: 0.0.0.0:8080
/// server-url: https://mdm.example.com
/// admin-trusted-proxy: [10.0.0.5, 10.0.0.6]
/// renewal-interval: 5m
/// ```
public enum ServeSettingsFile {
    public static func read(path: String, allowed: [String], environment: [String: String]) -> (
        settings: [String: [String]], diagnostics: [Diagnostic]
    ) {
        guard let data = FileManager.default.contents(atPath: path) else {
            let missing = !FileManager.default.fileExists(atPath: path)
            return ([:], [.error(.fileUnreadable, file: path, missing ? "the config file is not found" : "cannot read the config file")])
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            return ([:], [.error(.notUTF8, file: path, "the config file is not UTF-8")])
        }
        return parse(text, file: path, allowed: allowed, environment: environment)
    }

    public static func parse(_ text: String, file: String, allowed: [String], environment: [String: String]) -> (
        settings: [String: [String]], diagnostics: [Diagnostic]
    ) {
        var reader = YAMLDocumentReader(file: file, expander: EnvironmentExpander(environment: environment))
        guard let fields = reader.mapping(text, allowed: allowed, required: []) else { return ([:], reader.diagnostics) }
        var settings: [String: [String]] = [:]
        for (key, node) in fields {
            let items: [Node]
            if case .sequence(let sequence) = node { items = Array(sequence) } else { items = [node] }
            var values: [String] = []
            for item in items {
                guard case .scalar = item, item.null == nil else {
                    reader.diagnostics.append(
                        .error(.wrongType, file: file, at: reader.position(item),
                            "\"\(key)\" must be a value or a list of values, found \(reader.describe(item))"))
                    continue
                }
                if let value = reader.string(item, key: key, sensitive: true)?.value.value { values.append(value) }
            }
            settings[key] = values
        }
        return (settings, reader.diagnostics)
    }
}
