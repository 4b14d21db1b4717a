import Foundation

/// A parser for XML property lists that keeps where every value was written.
///
/// Foundation's `PropertyListSerialization` gives no positions, and the contract wants
/// every profile error to name its line. Nodes keep byte offsets; a line and column is
/// counted only for a diagnostic. This reads the subset of XML that plists use:
/// the prolog, comments, CDATA, the five named entities and character references. A
/// DOCTYPE with an internal subset (where entity tricks live) is refused.
public struct PlistParser {
    public struct Failure: Error, Sendable, Hashable {
        public var message: String
        public var position: SourcePosition
    }

    /// Containers nested deeper than this are refused rather than risking the stack.
    public static let maximumDepth = 64

    private static let cdataEnd: [UInt8] = Array("]]>".utf8)
    private static let cdataStart: [UInt8] = Array("<![CDATA[".utf8)
    private static let closeDict: [UInt8] = Array("</dict".utf8)
    private static let commentEnd: [UInt8] = Array("-->".utf8)
    private static let commentStart: [UInt8] = Array("<!--".utf8)
    private static let doctypeStart: [UInt8] = Array("<!DOCTYPE".utf8)
    private static let processingEnd: [UInt8] = Array("?>".utf8)
    private static let processingStart: [UInt8] = Array("<?".utf8)

    private let bytes: [UInt8]
    private var index = 0

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    public static func parse(_ bytes: [UInt8]) throws(Failure) -> PlistNode {
        var parser = PlistParser(bytes: bytes)
        return try parser.parseDocument()
    }

    // MARK: - Document

    private mutating func parseDocument() throws(Failure) -> PlistNode {
        if hasPrefix([0xEF, 0xBB, 0xBF]) { advance(3) }
        try skipMisc(allowDeclarations: true)
        let plistStart = index
        let root = try parseOpenTag()
        guard root.element == .plist else {
            throw failure("expected <plist> as the root element, found <\(name(of: root))>", at: plistStart)
        }
        guard !root.selfClosing else { throw failure("<plist> is empty", at: plistStart) }
        let value = try parseValue(depth: 0)
        try skipMisc(allowDeclarations: false)
        try parseCloseTag(.plist)
        try skipMisc(allowDeclarations: false)
        guard index == bytes.count else { throw failure("unexpected content after </plist>") }
        return value
    }

    // MARK: - Values

    private mutating func parseValue(depth: Int) throws(Failure) -> PlistNode {
        try skipMisc(allowDeclarations: false)
        let start = index
        guard depth < Self.maximumDepth else {
            throw failure("values are nested more than \(Self.maximumDepth) levels deep", at: start)
        }
        if atClosingTag { throw failure("expected a value, found a closing tag") }
        let tag = try parseOpenTag()
        guard let element = tag.element else { throw failure("unknown element <\(name(of: tag))>", at: start) }
        switch element {
        case .dict:
            return PlistNode(.dictionary(tag.selfClosing ? [] : try parseDictionary(depth: depth)), at: start)
        case .array:
            return PlistNode(.array(tag.selfClosing ? [] : try parseArray(depth: depth)), at: start)
        case .string:
            return PlistNode(.string(tag.selfClosing ? "" : try parseText(closing: .string)), at: start)
        case .integer:
            let text = try parseText(closing: .integer, selfClosing: tag.selfClosing).trimmingPlistSpace()
            guard let value = Self.integer(text) else {
                throw failure("<integer> holds \"\(text.prefix(40))\", which is not an integer", at: start)
            }
            return PlistNode(.integer(value), at: start)
        case .real:
            let text = try parseText(closing: .real, selfClosing: tag.selfClosing).trimmingPlistSpace()
            guard let value = Double(text) else {
                throw failure("<real> holds \"\(text.prefix(40))\", which is not a number", at: start)
            }
            return PlistNode(.real(value), at: start)
        case .true, .false:
            if !tag.selfClosing {
                guard try parseText(closing: element).trimmingPlistSpace().isEmpty else {
                    throw failure("<\(element.name)> must be empty", at: start)
                }
            }
            return PlistNode(.bool(element == .true), at: start)
        case .date:
            let text = try parseText(closing: .date, selfClosing: tag.selfClosing).trimmingPlistSpace()
            return PlistNode(.date(text), at: start)
        case .data:
            let text = try parseText(closing: .data, selfClosing: tag.selfClosing)
            guard let data = Data(base64Encoded: text.filter { !$0.isWhitespace }) else {
                throw failure("<data> is not valid base64", at: start)
            }
            return PlistNode(.data([UInt8](data)), at: start)
        case .key:
            throw failure("<key> outside a <dict>", at: start)
        case .plist:
            throw failure("unknown element <plist>", at: start)
        }
    }

    private mutating func parseDictionary(depth: Int) throws(Failure) -> [PlistEntry] {
        // A payload's dictionary has a handful of keys: one allocation rather than four.
        var entries: [PlistEntry] = []
        entries.reserveCapacity(8)
        while true {
            try skipMisc(allowDeclarations: false)
            if atClosingTag {
                try parseCloseTag(.dict)
                return entries
            }
            let keyStart = index
            let tag = try parseOpenTag()
            guard tag.element == .key else {
                throw failure("expected <key> in <dict>, found <\(name(of: tag))>", at: keyStart)
            }
            let key = tag.selfClosing ? "" : try parseText(closing: .key)
            try skipMisc(allowDeclarations: false)
            if hasPrefix(Self.closeDict) {
                throw failure("<key>\(key.prefix(60))</key> has no value", at: keyStart)
            }
            let value = try parseValue(depth: depth + 1)
            entries.append(PlistEntry(key: key, keyOffset: keyStart, value: value))
        }
    }

    private mutating func parseArray(depth: Int) throws(Failure) -> [PlistNode] {
        var elements: [PlistNode] = []
        while true {
            try skipMisc(allowDeclarations: false)
            if atClosingTag {
                try parseCloseTag(.array)
                return elements
            }
            elements.append(try parseValue(depth: depth + 1))
        }
    }

    /// Character data up to `</closing>`, with entities, character references and CDATA
    /// decoded and comments dropped.
    private mutating func parseText(closing: Element, selfClosing: Bool = false) throws(Failure) -> String {
        if selfClosing { return "" }
        let start = index
        // Most values are plain text up to their closing tag: slice it without copying twice.
        let end = scan(from: index) { $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: "&") }
        if end + 1 < bytes.count, bytes[end] == UInt8(ascii: "<"), bytes[end + 1] == UInt8(ascii: "/") {
            let text = (closing == .key ? knownKey(index..<end) : nil) ?? String(decoding: bytes[index..<end], as: UTF8.self)
            advance(end - index)
            try parseCloseTag(closing)
            return text
        }
        var text: [UInt8] = []
        while true {
            guard index < bytes.count else {
                throw failure("<\(closing.name)> is not closed", at: start)
            }
            let byte = bytes[index]
            if byte == UInt8(ascii: "<") {
                if hasPrefix(Self.cdataStart) {
                    advance(9)
                    let end = try find(Self.cdataEnd, what: "CDATA section")
                    text.append(contentsOf: bytes[index..<end])
                    advance(end + 3 - index)
                } else if hasPrefix(Self.commentStart) {
                    try skipComment()
                } else if atClosingTag {
                    try parseCloseTag(closing)
                    return String(decoding: text, as: UTF8.self)
                } else {
                    throw failure("unexpected element inside <\(closing.name)>")
                }
            } else if byte == UInt8(ascii: "&") {
                text.append(contentsOf: try parseReference())
            } else {
                text.append(byte)
                advance(1)
            }
        }
    }

    /// Keys that payloads all have and that are longer than the 15 bytes a String holds
    /// without allocating: the literal (which allocates nothing) stands for the bytes.
    private static let longKeys = [
        "PayloadCertificateUUID", "PayloadDescription", "PayloadDisplayName", "PayloadIdentifier", "PayloadOrganization",
        "PayloadRemovalDisallowed",
    ]

    private func knownKey(_ range: Range<Int>) -> String? {
        guard range.count > 15, bytes[range.lowerBound] == UInt8(ascii: "P") else { return nil }
        return Self.longKeys.first { $0.utf8.count == range.count && $0.utf8.elementsEqual(bytes[range]) }
    }

    private mutating func parseReference() throws(Failure) -> [UInt8] {
        let start = index
        guard let semicolon = bytes[index...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else {
            throw failure("a bare '&' must be written &amp;", at: start)
        }
        let name = String(decoding: bytes[(index + 1)..<semicolon], as: UTF8.self)
        advance(semicolon + 1 - index)
        switch name {
        case "lt": return Array("<".utf8)
        case "gt": return Array(">".utf8)
        case "amp": return Array("&".utf8)
        case "quot": return Array("\"".utf8)
        case "apos": return Array("'".utf8)
        default:
            var scalarValue: UInt32?
            if name.hasPrefix("#x") || name.hasPrefix("#X") {
                scalarValue = UInt32(name.dropFirst(2), radix: 16)
            } else if name.hasPrefix("#") {
                scalarValue = UInt32(name.dropFirst(), radix: 10)
            }
            guard let scalarValue, scalarValue != 0, let scalar = Unicode.Scalar(scalarValue) else {
                throw failure("unknown entity &\(name.prefix(10));", at: start)
            }
            return Array(String(Character(scalar)).utf8)
        }
    }

    // MARK: - Tags

    /// The elements a plist is made of. Any other name is only ever shown in a message,
    /// so tags are matched by their bytes and named from them when one is reported.
    enum Element: CaseIterable {
        case plist, dict, array, key, string, integer, real, `true`, `false`, date, data

        var name: String {
            switch self {
            case .plist: "plist"
            case .dict: "dict"
            case .array: "array"
            case .key: "key"
            case .string: "string"
            case .integer: "integer"
            case .real: "real"
            case .true: "true"
            case .false: "false"
            case .date: "date"
            case .data: "data"
            }
        }

        /// The element `name` (bytes of the document) spells: every tag asks, so the bytes
        /// are packed into one number (names are at most 8 bytes) and told apart by it.
        init?(_ name: UnsafeBufferPointer<UInt8>) {
            guard name.count <= 8 else { return nil }
            var packed: UInt64 = 0
            for position in name.indices { packed |= UInt64(name[position]) << (8 * position) }
            // Each name's bytes, first byte lowest: "dict" is 0x74_63_69_64.
            switch packed {
            case 0x74_73_69_6c_70: self = .plist
            case 0x74_63_69_64: self = .dict
            case 0x79_61_72_72_61: self = .array
            case 0x79_65_6b: self = .key
            case 0x67_6e_69_72_74_73: self = .string
            case 0x72_65_67_65_74_6e_69: self = .integer
            case 0x6c_61_65_72: self = .real
            case 0x65_75_72_74: self = .true
            case 0x65_73_6c_61_66: self = .false
            case 0x65_74_61_64: self = .date
            case 0x61_74_61_64: self = .data
            default: return nil
            }
        }
    }

    private func element(named name: Range<Int>) -> Element? {
        bytes.withUnsafeBufferPointer { Element(UnsafeBufferPointer(rebasing: $0[name])) }
    }

    private struct Tag {
        var name: Range<Int>
        var element: Element?
        var selfClosing: Bool
    }

    private func name(of tag: Tag) -> String { String(decoding: bytes[tag.name], as: UTF8.self) }

    private mutating func parseOpenTag() throws(Failure) -> Tag {
        let start = index
        guard index < bytes.count else { throw failure("unexpected end of file") }
        guard bytes[index] == UInt8(ascii: "<") else {
            throw failure("expected an element, found text")
        }
        advance(1)
        let name = readName()
        guard !name.isEmpty else { throw failure("malformed element", at: start) }
        let element = element(named: name)
        var quote: UInt8?
        while index < bytes.count {
            let byte = bytes[index]
            if let q = quote {
                if byte == q { quote = nil }
            } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                quote = byte
            } else if byte == UInt8(ascii: ">") {
                advance(1)
                return Tag(name: name, element: element, selfClosing: false)
            } else if byte == UInt8(ascii: "/"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: ">") {
                advance(2)
                return Tag(name: name, element: element, selfClosing: true)
            } else if byte == UInt8(ascii: "<") {
                break
            }
            advance(1)
        }
        throw failure("<\(String(decoding: bytes[name], as: UTF8.self))> is not closed with '>'", at: start)
    }

    private mutating func parseCloseTag(_ expected: Element) throws(Failure) {
        let start = index
        guard atClosingTag else { throw failure("expected </\(expected.name)>") }
        advance(2)
        let name = readName()
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ">") else {
            throw failure("malformed closing tag </\(String(decoding: bytes[name], as: UTF8.self))", at: start)
        }
        advance(1)
        guard element(named: name) == expected else {
            throw failure(
                "expected </\(expected.name)>, found </\(String(decoding: bytes[name], as: UTF8.self))>",
                at: start)
        }
    }

    private mutating func readName() -> Range<Int> {
        let start = index
        index = scan(from: index) { b in
            (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_")
                || b == UInt8(ascii: "-") || b == UInt8(ascii: ":") || b == UInt8(ascii: ".")
        }
        return start..<index
    }

    // MARK: - Prolog, comments, whitespace

    private mutating func skipMisc(allowDeclarations: Bool) throws(Failure) {
        while true {
            skipWhitespace()
            // Between values there is nearly always just the next tag: only `<!` and `<?`
            // open what is skipped here.
            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "<"),
                bytes[index + 1] == UInt8(ascii: "!") || bytes[index + 1] == UInt8(ascii: "?")
            else { return }
            if hasPrefix(Self.commentStart) {
                try skipComment()
            } else if hasPrefix(Self.processingStart) {
                let end = try find(Self.processingEnd, what: "processing instruction")
                advance(end + 2 - index)
            } else if allowDeclarations, hasPrefix(Self.doctypeStart) {
                let start = index
                while index < bytes.count, bytes[index] != UInt8(ascii: ">") {
                    if bytes[index] == UInt8(ascii: "[") {
                        throw failure("a DOCTYPE with an internal subset is not allowed in a profile", at: start)
                    }
                    advance(1)
                }
                guard index < bytes.count else { throw failure("DOCTYPE is not closed", at: start) }
                advance(1)
            } else {
                return
            }
        }
    }

    private mutating func skipComment() throws(Failure) {
        advance(4)
        let end = try find(Self.commentEnd, what: "comment")
        advance(end + 3 - index)
    }

    /// Indentation is a good part of a profile's bytes: runs of spaces are skipped eight
    /// at a time.
    private mutating func skipWhitespace() {
        let spaces = UInt64(0x2020_2020_2020_2020)
        index = bytes.withUnsafeBytes { buffer in
            var end = index
            while end + 8 <= buffer.count, buffer.loadUnaligned(fromByteOffset: end, as: UInt64.self) == spaces { end += 8 }
            while end < buffer.count, buffer[end] == 0x20 || buffer[end] == 0x09 || buffer[end] == 0x0A || buffer[end] == 0x0D {
                end += 1
            }
            return end
        }
    }

    // MARK: - Cursor

    /// A failure at `offset`, the cursor unless told.
    private func failure(_ message: String, at offset: Int? = nil) -> Failure {
        Failure(message: message, position: SourcePosition(offset: offset ?? index, in: bytes))
    }

    /// Whether `</` is next: asked before every value, so not through `hasPrefix`.
    private var atClosingTag: Bool {
        index + 1 < bytes.count && bytes[index] == UInt8(ascii: "<") && bytes[index + 1] == UInt8(ascii: "/")
    }

    /// The index of the first byte from `start` on that is not `while`'s, or the end. The
    /// loops that run over every byte of a profile: on the buffer, whose bounds the loop
    /// checks, rather than through the array's subscript.
    @inline(__always)
    private func scan(from start: Int, while matches: (UInt8) -> Bool) -> Int {
        bytes.withUnsafeBufferPointer { buffer in
            var end = start
            while end < buffer.count, matches(buffer[end]) { end += 1 }
            return end
        }
    }

    private func hasPrefix(_ prefix: [UInt8]) -> Bool {
        guard bytes.count - index >= prefix.count else { return false }
        for (offset, byte) in prefix.enumerated() where bytes[index + offset] != byte { return false }
        return true
    }

    /// The index where `needle` next starts, or a failure naming the unterminated construct.
    private mutating func find(_ needle: [UInt8], what: String) throws(Failure) -> Int {
        var i = index
        while i + needle.count <= bytes.count {
            if bytes[i] == needle[0], bytes[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        throw failure("\(what) is not closed")
    }

    private mutating func advance(_ count: Int) {
        index = min(index + count, bytes.count)
    }

    private static func integer(_ text: String) -> Int64? {
        if text.hasPrefix("0x") || text.hasPrefix("0X") { return Int64(text.dropFirst(2), radix: 16) }
        return Int64(text)
    }
}

extension String {
    /// Without XML white space at either end (space, tab, CR, LF), as plist readers trim.
    func trimmingPlistSpace() -> String {
        let utf8 = self.utf8
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        guard let first = utf8.firstIndex(where: { !isSpace($0) }), let last = utf8.lastIndex(where: { !isSpace($0) })
        else { return "" }
        if first == utf8.startIndex, last == utf8.index(before: utf8.endIndex) { return self }
        return String(self[first...last])
    }
}
