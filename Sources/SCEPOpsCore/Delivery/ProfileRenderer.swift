/// Renders a profile for one host (SPEC §4): the challenge, the host's proxy URL with its
/// one-time token, and the renewal id go where the profile's variables stand, XML-escaped.
/// Everything else stays byte for byte as committed.
public enum ProfileRenderer {
    public struct Values: Sendable {
        public var challenge: Secret
        public var proxyURL: String
        /// `fleet-<profileUUID>`, which renewal matches in the certificate's Subject.
        public var renewalID: String

        public init(challenge: Secret, proxyURL: String, renewalID: String) {
            self.challenge = challenge
            self.proxyURL = proxyURL
            self.renewalID = renewalID
        }
    }

    public enum Failure: Error, Sendable, Hashable {
        /// A variable names another CA than the one rendered for, or none this renderer knows.
        case unexpectedVariable(String)
    }

    /// `certificateAuthority` is the CA the values belong to: a variable of any other CA is
    /// refused rather than filled with the wrong secret.
    public static func render(_ content: [UInt8], certificateAuthority: String, values: Values) throws(Failure) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(content.count + 256)
        var index = 0
        let dollar = UInt8(ascii: "$")
        while let start = content[index...].firstIndex(of: dollar) {
            guard let occurrence = occurrence(in: content, at: start) else {
                output.append(contentsOf: content[index...start])
                index = start + 1
                continue
            }
            output.append(contentsOf: content[index..<start])
            let value: String
            switch occurrence.variable {
            case .customSCEPChallenge(let ca) where ca == certificateAuthority: value = values.challenge.revealed
            case .customSCEPProxyURL(let ca) where ca == certificateAuthority: value = values.proxyURL
            case .scepRenewalID: value = values.renewalID
            default: throw .unexpectedVariable(occurrence.variable.name)
            }
            output.append(contentsOf: escape(value).utf8)
            index = occurrence.end
        }
        output.append(contentsOf: content[index...])
        return output
    }

    /// The `$FLEET_VAR_…` or `${FLEET_VAR_…}` that starts at `start`, matched whole: a
    /// variable is never replaced inside a longer name (`…_WIFI` in `…_WIFI_2026`).
    private static func occurrence(in content: [UInt8], at start: Int) -> (variable: FleetVariable, end: Int)? {
        let prefix = Array(FleetVariable.prefix.utf8)
        let braced = start + 1 < content.count && content[start + 1] == UInt8(ascii: "{")
        let nameStart = start + (braced ? 2 : 1)
        guard content.count - nameStart > prefix.count,
            content[nameStart..<(nameStart + prefix.count)].elementsEqual(prefix)
        else { return nil }
        var end = nameStart + prefix.count
        while end < content.count, isIdentifierByte(content[end]) { end += 1 }
        let suffix = String(decoding: content[(nameStart + prefix.count)..<end], as: UTF8.self)
        if braced {
            guard end < content.count, content[end] == UInt8(ascii: "}") else { return nil }
            end += 1
        }
        return (FleetVariable(suffix: suffix), end)
    }

    private static func isIdentifierByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F
    }

    /// XML character escaping for text content.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}
