import Foundation

/// Durations as flags and YAML write them: `30s`, `5m`, `1h`, `7d`, combinations such as
/// `23h58m`, and, for flags, a plain number of seconds.
public enum DurationText {
    /// Nil for anything else, and for zero.
    public static func seconds(_ text: String, plainNumbers: Bool = true) -> TimeInterval? {
        let text = text.trimmingCharacters(in: .whitespaces)
        if plainNumbers, let plain = Double(text) { return plain > 0 ? plain : nil }
        let units: [Character: TimeInterval] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var total: TimeInterval = 0
        var digits = ""
        var lastUnit = TimeInterval.infinity
        for character in text {
            if character.isASCII, character.isNumber {
                digits.append(character)
            } else if let unit = units[character], let value = Double(digits), unit < lastUnit {
                // Units in falling order, each once: `1h30m`, never `30m1h` or `1h1h`.
                total += value * unit
                lastUnit = unit
                digits = ""
            } else {
                return nil
            }
        }
        guard digits.isEmpty, total > 0 else { return nil }
        return total
    }

    /// Seconds as the YAML writes them: `23h58m`, `30d`, `90s` (whole seconds).
    public static func format(_ seconds: TimeInterval) -> String {
        var left = Int(seconds.rounded())
        guard left > 0 else { return "0s" }
        var text = ""
        for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] where left >= size {
            text += "\(left / size)\(unit)"
            left %= size
        }
        return text
    }
}
