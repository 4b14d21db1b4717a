import Foundation

/// Pretty JSON with sorted keys, as every command's `--format json` writes it.
public enum JSONOutput {
    public static func render(_ object: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
