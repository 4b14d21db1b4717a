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
    /// `%00` would be cut short by SQLite and alias another identifier. Read over the bytes:
    /// splitting by characters was a tenth of a proxied request.
    public init?(pathComponent: String) {
        guard let decoded = Self.percentDecoded(pathComponent), !ControlCharacters.present(in: decoded.utf8) else { return nil }
        let bytes = decoded.utf8
        let parts = bytes.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).map { String(Substring($0)) }
        // Up to 255 bytes is up to 255 characters; only a longer part has its characters counted.
        guard parts.count == 4, parts.allSatisfy({ !$0.isEmpty && ($0.utf8.count <= 255 || $0.count <= 255) }) else { return nil }
        self.init(host: parts[0], profile: parts[1], certificateAuthority: parts[2], token: parts[3])
    }

    /// Percent-decoded from the UTF-8 bytes, as Foundation's `removingPercentEncoding` does
    /// (which took a third of a proxied request): nil for a `%` without two hex digits after
    /// it, or bytes that are not UTF-8.
    static func percentDecoded(_ text: String) -> String? {
        // Most identifiers arrive with commas encoded; one without a `%` is its own decoding.
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
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
