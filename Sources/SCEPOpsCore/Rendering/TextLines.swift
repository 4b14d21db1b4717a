/// Text output, one line per element. A control character inside an element (a newline
/// in a file name, an escape sequence in a value) is shown escaped, so that no path or
/// value can forge a line of output or drive the terminal.
public enum TextLines {
    public static func render(_ lines: [String]) -> String {
        lines.map(escape).joined(separator: "\n") + "\n"
    }

    public static func escape(_ text: String) -> String {
        guard ControlCharacters.present(in: text.utf8) else { return text }
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where ControlCharacters.isControl(scalar): escaped += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}
