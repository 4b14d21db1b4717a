/// A `$FLEET_VAR_*` variable in a profile. The server fills these per host; the repo
/// only names them (SPEC §1).
public enum FleetVariable: Sendable, Hashable {
    case customSCEPChallenge(ca: String)
    case customSCEPProxyURL(ca: String)
    case scepRenewalID
    case unknown(suffix: String)

    public static let prefix = "FLEET_VAR_"
    static let challengePrefix = "CUSTOM_SCEP_CHALLENGE_"
    static let proxyURLPrefix = "CUSTOM_SCEP_PROXY_URL_"
    static let renewalID = "SCEP_RENEWAL_ID"

    public init(suffix: String) {
        if suffix.hasPrefix(Self.challengePrefix), suffix.count > Self.challengePrefix.count {
            self = .customSCEPChallenge(ca: String(suffix.dropFirst(Self.challengePrefix.count)))
        } else if suffix.hasPrefix(Self.proxyURLPrefix), suffix.count > Self.proxyURLPrefix.count {
            self = .customSCEPProxyURL(ca: String(suffix.dropFirst(Self.proxyURLPrefix.count)))
        } else if suffix == Self.renewalID {
            self = .scepRenewalID
        } else {
            self = .unknown(suffix: suffix)
        }
    }

    /// The canonical spelling, `$FLEET_VAR_…`, as messages name it.
    public var name: String {
        switch self {
        case .customSCEPChallenge(let ca): "$\(Self.prefix)\(Self.challengePrefix)\(ca)"
        case .customSCEPProxyURL(let ca): "$\(Self.prefix)\(Self.proxyURLPrefix)\(ca)"
        case .scepRenewalID: "$\(Self.prefix)\(Self.renewalID)"
        case .unknown(let suffix): "$\(Self.prefix)\(suffix)"
        }
    }

    /// The CA a custom-SCEP variable names.
    public var certificateAuthority: String? {
        switch self {
        case .customSCEPChallenge(let ca), .customSCEPProxyURL(let ca): ca
        case .scepRenewalID, .unknown: nil
        }
    }
}

/// Where `FleetVariable`s occur in a piece of text.
public struct FleetVariableScanner: Sendable {
    public struct Match: Sendable, Hashable {
        public var variable: FleetVariable
        /// As written: `$FLEET_VAR_X` or `${FLEET_VAR_X}`.
        public var written: String
    }

    public struct Result: Sendable, Hashable {
        public var matches: [Match] = []
        /// `${FLEET_VAR_…` without its closing brace.
        public var malformed: [String] = []
    }

    public static func scan(_ text: String) -> Result {
        var result = Result()
        guard text.contains("FLEET_VAR_") else { return result }
        let scalars = Array(text.unicodeScalars)
        let prefix = Array(FleetVariable.prefix.unicodeScalars)
        var i = 0
        while i < scalars.count {
            guard scalars[i] == "$" else {
                i += 1
                continue
            }
            let braced = i + 1 < scalars.count && scalars[i + 1] == "{"
            let nameStart = i + (braced ? 2 : 1)
            guard scalars.count - nameStart >= prefix.count,
                scalars[nameStart..<(nameStart + prefix.count)].elementsEqual(prefix)
            else {
                i += 1
                continue
            }
            var end = nameStart + prefix.count
            while end < scalars.count, EnvironmentExpander.isIdentifierPart(scalars[end]) { end += 1 }
            let suffix = String(String.UnicodeScalarView(scalars[(nameStart + prefix.count)..<end]))
            if braced {
                guard end < scalars.count, scalars[end] == "}", !suffix.isEmpty else {
                    result.malformed.append(String(String.UnicodeScalarView(scalars[i..<min(end + 1, scalars.count)])))
                    i = end
                    continue
                }
                end += 1
            }
            let written = String(String.UnicodeScalarView(scalars[i..<end]))
            result.matches.append(Match(variable: FleetVariable(suffix: suffix), written: written))
            i = end
        }
        return result
    }
}
