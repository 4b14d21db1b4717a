/// A CMS SignedData (RFC 5652 §5.1) taken apart at its `certificates` field: the DER of each
/// certificate it carries, and the message without them. OpenSSL 3.0 spends most of a
/// signature check decoding the public key of every certificate in the message (its
/// decoder contexts are built anew each time); a device sends the same identity certificate
/// with every request, so the verifier parses each certificate once and hands the rest of
/// the message to OpenSSL without it. Only the DER a device sends is split: anything else
/// (indefinite lengths, other certificate choices, trailing bytes) gives nil, and OpenSSL
/// reads the message whole, as before. The signature covers neither the field nor its
/// removal, so the split can make a check fail but never pass.
struct SignedDataCertificates: Sendable, Equatable {
    /// The DER of each certificate, in the message's order.
    var certificates: [ArraySlice<UInt8>]
    /// The ContentInfo, re-encoded without the `certificates` field.
    var stripped: [UInt8]

    init?(_ der: [UInt8]) {
        // ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT SignedData }
        guard let contentInfo = Element(der, at: 0, within: der.count), contentInfo.tag == 0x30, contentInfo.end == der.count,
            let contentType = Element(der, at: contentInfo.contents.lowerBound, within: contentInfo.end), contentType.tag == 0x06,
            let explicit = Element(der, at: contentType.end, within: contentInfo.end), explicit.tag == 0xA0,
            explicit.end == contentInfo.end,
            let signedData = Element(der, at: explicit.contents.lowerBound, within: explicit.end), signedData.tag == 0x30,
            signedData.end == explicit.end,
            let fields = Element.children(der, of: signedData)
        else { return nil }
        // SignedData ::= SEQUENCE { version, digestAlgorithms, encapContentInfo,
        //   certificates [0] IMPLICIT SET OF CertificateChoices OPTIONAL, crls [1] OPTIONAL, signerInfos }
        guard let field = fields.first(where: { $0.tag == 0xA0 }), let members = Element.children(der, of: field),
            members.allSatisfy({ $0.tag == 0x30 })  // Certificate; the other choices are obsolete
        else { return nil }
        certificates = members.map { der[$0.start..<$0.end] }
        var remaining: [UInt8] = []
        for other in fields where other.start != field.start { remaining += der[other.start..<other.end] }
        let content = Self.encode(0xA0, Self.encode(0x30, remaining))
        stripped = Self.encode(0x30, Array(der[contentType.start..<contentType.end]) + content)
    }

    /// One tag-length-value: the low tag numbers and definite lengths that DER uses.
    struct Element {
        var tag: UInt8
        var start: Int
        var contents: Range<Int>
        var end: Int { contents.upperBound }

        init?(_ bytes: [UInt8], at start: Int, within limit: Int) {
            guard start + 2 <= limit, bytes[start] & 0x1F != 0x1F else { return nil }
            let first = bytes[start + 1]
            var length = Int(first)
            var offset = start + 2
            if first & 0x80 != 0 {
                // 0x80 alone is BER's indefinite length; more than 4 length bytes is no message of ours.
                let count = Int(first & 0x7F)
                guard (1...4).contains(count), offset + count <= limit else { return nil }
                length = 0
                for byte in bytes[offset..<offset + count] { length = length << 8 | Int(byte) }
                offset += count
            }
            guard length <= limit - offset else { return nil }
            tag = bytes[start]
            self.start = start
            contents = offset..<offset + length
        }

        /// The elements that fill `parent`'s contents exactly, or nil.
        static func children(_ bytes: [UInt8], of parent: Element) -> [Element]? {
            var found: [Element] = []
            var offset = parent.contents.lowerBound
            while offset < parent.end {
                guard let child = Element(bytes, at: offset, within: parent.end) else { return nil }
                found.append(child)
                offset = child.end
            }
            return found
        }
    }

    static func encode(_ tag: UInt8, _ contents: [UInt8]) -> [UInt8] {
        var length: [UInt8] = []
        var count = contents.count
        if count < 0x80 {
            length = [UInt8(count)]
        } else {
            while count > 0 {
                length.insert(UInt8(count & 0xFF), at: 0)
                count >>= 8
            }
            length.insert(0x80 | UInt8(length.count), at: 0)
        }
        return [tag] + length + contents
    }
}
