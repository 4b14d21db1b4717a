import Foundation

/// The last path component of a host's SCEP proxy URL (docs/contract.md §4):
/// `<hostUUID>,<profileUUID>,<caName>,<oneTimeToken>`, percent-encoded with commas as
/// `%2C` as it stands in the delivered profile. Real clients send it encoded; a literal
/// comma is accepted too (swift-build-notes, trap 11).
public struct ProxyIdentifier: Sendable, Hashable {
    public var host: String
    public var profile: String
    public var certificateAuthority: String
    public var token: String

    public init(host: String, profile: String, certificateAuthority: String, token: String) {
        self.host = host
        self.profile = profile
        self.certificateAuthority = certificateAuthority
        self.token = token
    }

    /// Nil for anything but four non-empty parts free of control characters: a decoded
    /// `%00` would be cut short by SQLite and alias another identifier. One pass over the
    /// bytes, decoding as it goes (Foundation's `removingPercentEncoding` took a third of a
    /// proxied request, and splitting by characters a tenth).
    public init?(pathComponent: String) {
        var parts: [String] = []
        parts.reserveCapacity(4)
        var part: [UInt8] = []
        var previous: UInt8 = 0
        var bytes = pathComponent.utf8.makeIterator()
        while let next = bytes.next() {
            var byte = next
            if byte == UInt8(ascii: "%") {
                guard let high = bytes.next().flatMap(Self.hexValue), let low = bytes.next().flatMap(Self.hexValue) else { return nil }
                byte = high << 4 | low
            }
            guard !ControlCharacters.isControl(byte, after: previous) else { return nil }
            previous = byte
            if byte == UInt8(ascii: ",") {
                guard parts.count < 3, let made = Self.part(part) else { return nil }
                parts.append(made)
                part.removeAll(keepingCapacity: true)
            } else {
                part.append(byte)
            }
        }
        guard parts.count == 3, let last = Self.part(part) else { return nil }
        self.init(host: parts[0], profile: parts[1], certificateAuthority: parts[2], token: last)
    }

    /// Nil for an empty part, one that is not UTF-8, or one over 255 characters (up to 255
    /// bytes is up to 255 characters; only a longer part has its characters counted).
    private static func part(_ bytes: [UInt8]) -> String? {
        guard !bytes.isEmpty, let text = String(validating: bytes, as: UTF8.self), bytes.count <= 255 || text.count <= 255
        else { return nil }
        return text
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// As it goes into a profile's URL.
    public var pathComponent: String {
        [host, profile, certificateAuthority, token].map(Self.encode).joined(separator: "%2C")
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    private static func encode(_ part: String) -> String {
        part.addingPercentEncoding(withAllowedCharacters: unreserved) ?? part
    }
}
