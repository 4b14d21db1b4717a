import Foundation

/// The renewal id a profile's `$FLEET_VAR_SCEP_RENEWAL_ID` renders as, `fleet-<profileUUID>`,
/// and how a certificate's Subject is matched back to the profile that delivered it.
public enum RenewalID {
    static let prefix = "fleet-"

    public static func of(profile uuid: String) -> String { prefix + uuid }

    /// The profile UUID in the Subject's OU or CN (as OpenSSL prints a Subject:
    /// `OU=fleet-…,CN=…`); nil for a certificate no profile of ours delivered.
    public static func profile(inSubject subject: String) -> String? {
        for attribute in attributes(subject) where attribute.key == "OU" || attribute.key == "CN" {
            if attribute.value.hasPrefix(prefix), attribute.value.count > prefix.count {
                return String(attribute.value.dropFirst(prefix.count))
            }
        }
        return nil
    }

    /// `KEY=value` pairs split at unescaped commas (a value may hold `\,`).
    static func attributes(_ subject: String) -> [(key: String, value: String)] {
        var pairs: [(key: String, value: String)] = []
        var current = ""
        var escaped = false
        func finish() {
            if let equals = current.firstIndex(of: "=") {
                let key = current[..<equals].trimmingCharacters(in: .whitespaces)
                pairs.append((key.uppercased(), String(current[current.index(after: equals)...])))
            }
            current = ""
        }
        for character in subject {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "," {
                finish()
            } else {
                current.append(character)
            }
        }
        finish()
        return pairs
    }
}
