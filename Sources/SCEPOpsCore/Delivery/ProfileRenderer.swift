/// Renders a profile for one host (docs/contract.md §4): the challenge, the host's proxy URL with its
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
        while let start = content[index...].firstIndex(of: UInt8(ascii: "$")) {
            guard case .variable(let variable, let range) = FleetVariableScanner.token(in: content, at: start) else {
                output.append(contentsOf: content[index...start])
                index = start + 1
                continue
            }
            output.append(contentsOf: content[index..<start])
            let value: String
            switch variable {
            case .customSCEPChallenge(let ca) where ca == certificateAuthority: value = values.challenge.revealed
            case .customSCEPProxyURL(let ca) where ca == certificateAuthority: value = values.proxyURL
            case .scepRenewalID: value = values.renewalID
            default: throw .unexpectedVariable(variable.name)
            }
            output.append(contentsOf: XMLText.escape(value).utf8)
            index = range.upperBound
        }
        output.append(contentsOf: content[index...])
        return output
    }
}
