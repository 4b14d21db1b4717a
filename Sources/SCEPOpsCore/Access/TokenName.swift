/// A token's name: what `token list` shows and `token revoke` takes, and what the log
/// names a caller by. Letters, digits, `.`, `_` and `-`, up to 64 characters, so that it
/// reads plainly in a log line and in a shell.
public enum TokenName {
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "a token's name must not be empty" }
        if name.count > 64 { return "a token's name must be at most 64 characters" }
        let allowed = name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)
        }
        return allowed ? nil : "a token's name may hold letters, digits, '.', '_' and '-' only"
    }
}
