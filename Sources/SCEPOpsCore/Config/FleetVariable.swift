import Foundation

/// A `$FLEET_VAR_*` variable in a profile. The server fills these per host; the repo
/// only names them (docs/contract.md §1).
public enum FleetVariable: Sendable, Hashable {
    case customSCEPChallenge(ca: String)
    case customSCEPProxyURL(ca: String)
    case scepRenewalID
    case unknown(suffix: String)

    public static let prefix = "FLEET_VAR_"
    static let challengePrefix = "CUSTOM_SCEP_CHALLENGE_"
    static let proxyURLPrefix = "CUSTOM_SCEP_PROXY_URL_"
    static let renewalID = "SCEP_RENEWAL_ID"

    /// Counted in UTF-8 bytes (the names are ASCII): `count` on a String walks its characters.
    public init(suffix: String) {
        if suffix.hasPrefix(Self.challengePrefix), suffix.utf8.count > Self.challengePrefix.utf8.count {
            self = .customSCEPChallenge(ca: String(decoding: suffix.utf8.dropFirst(Self.challengePrefix.utf8.count), as: UTF8.self))
        } else if suffix.hasPrefix(Self.proxyURLPrefix), suffix.utf8.count > Self.proxyURLPrefix.utf8.count {
            self = .customSCEPProxyURL(ca: String(decoding: suffix.utf8.dropFirst(Self.proxyURLPrefix.utf8.count), as: UTF8.self))
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
        // Nearly every string in a profile has no `$`: answer those from the bytes alone,
        // with memchr where the string is contiguous (as decoded ones are).
        let dollar = UInt8(ascii: "$")
        let hasDollar =
            text.utf8.withContiguousStorageIfAvailable { bytes in
                bytes.baseAddress.map { memchr($0, Int32(dollar), bytes.count) != nil } ?? false
            }
            ?? text.utf8.contains(dollar)
        guard hasDollar else { return result }
        // `$`, braces and identifier characters are ASCII, so bytes are enough to scan.
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            switch token(in: bytes, at: i) {
            case .variable(let variable, let range):
                result.matches.append(Match(variable: variable, written: String(decoding: bytes[range], as: UTF8.self)))
                i = range.upperBound
            case .malformed(let range):
                result.malformed.append(String(decoding: bytes[range], as: UTF8.self))
                i = range.upperBound
            case .none:
                i += 1
            }
        }
        return result
    }

    /// What is written at `start` in UTF-8 text.
    public enum Token: Sendable, Hashable {
        /// A whole variable: never the start of a longer name (`…_WIFI` in `…_WIFI_2026`).
        case variable(FleetVariable, Range<Int>)
        /// `${FLEET_VAR_…` without its closing brace.
        case malformed(Range<Int>)
        case none
    }

    /// The one reading of `$FLEET_VAR_X` and `${FLEET_VAR_X}` that validation and the
    /// renderer share, so that what is checked is exactly what gets replaced.
    public static func token(in bytes: [UInt8], at start: Int) -> Token {
        guard bytes[start] == UInt8(ascii: "$") else { return .none }
        let braced = start + 1 < bytes.count && bytes[start + 1] == UInt8(ascii: "{")
        let nameStart = start + (braced ? 2 : 1)
        guard bytes.count - nameStart >= prefixBytes.count,
            bytes[nameStart..<(nameStart + prefixBytes.count)].elementsEqual(prefixBytes)
        else { return .none }
        var end = nameStart + prefixBytes.count
        while end < bytes.count, isIdentifierByte(bytes[end]) { end += 1 }
        let suffix = String(decoding: bytes[(nameStart + prefixBytes.count)..<end], as: UTF8.self)
        if braced {
            guard end < bytes.count, bytes[end] == UInt8(ascii: "}"), !suffix.isEmpty else {
                return .malformed(start..<min(end + 1, bytes.count))
            }
            end += 1
        }
        return .variable(FleetVariable(suffix: suffix), start..<end)
    }

    private static let prefixBytes = Array(FleetVariable.prefix.utf8)

    /// `[A-Za-z0-9_]`: the characters of variable and CA names.
    static func isIdentifierByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F
    }
}
