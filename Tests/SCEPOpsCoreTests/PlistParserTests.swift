import SCEPOpsCore
import Testing

@Suite("XML plist parser")
struct PlistParserTests {
    private func parse(_ text: String) throws(PlistParser.Failure) -> PlistNode {
        try PlistParser.parse(Array(text.utf8))
    }

    @Test func valuesAndTheirPositions() throws {
        let text = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
            <plist version="1.0">
            <dict>
              <key>S</key> <string>a &lt;b&gt; &amp; &#233;&#x1F600; <![CDATA[<raw>]]><!-- gone --></string>
              <key>I</key><integer> -42 </integer>
              <key>R</key><real>1.5</real>
              <key>T</key><true/>
              <key>F</key><false></false>
              <key>D</key><data>
                aGVs
                bG8=
              </data>
              <key>E</key><string/>
              <key>A</key><array><dict/><array/></array>
              <key>É</key><date>2026-01-01T00:00:00Z</date>
            </dict>
            </plist>
            """
        let root = try parse(text)
        let bytes = Array(text.utf8)
        func position(_ offset: Int?) -> SourcePosition? { offset.map { SourcePosition(offset: $0, in: bytes) } }
        #expect(position(root.offset) == SourcePosition(line: 4, column: 1))
        #expect(root["S"]?.string == "a <b> & é😀 <raw>")
        #expect(position(root["S"]?.offset) == SourcePosition(line: 5, column: 16))
        #expect(position(root.entry("I")?.keyOffset) == SourcePosition(line: 6, column: 3))
        #expect(root["I"]?.integer == -42)
        #expect(root["R"]?.value == .real(1.5))
        #expect(root["T"]?.value == .bool(true))
        #expect(root["F"]?.value == .bool(false))
        #expect(root["D"]?.value == .data(Array("hello".utf8)))
        #expect(root["E"]?.string == "")
        #expect(root["A"]?.elements?.count == 2)
        #expect(position(root["É"]?.offset) == SourcePosition(line: 16, column: 15))
    }

    @Test(arguments: [
        ("<plist><dict><key>a</key></dict></plist>", 1, "has no value"),
        ("<plist><dict>\n<string>x</string></dict></plist>", 2, "expected <key>"),
        ("<plist>\n<string>x</strin></plist>", 2, "expected </string>"),
        ("<plist><integer>x1</integer></plist>", 1, "not an integer"),
        ("<plist><string>a & b</string></plist>", 1, "&amp;"),
        ("<plist><string>&bogus;</string></plist>", 1, "unknown entity"),
        ("<!DOCTYPE plist [<!ENTITY x 'y'>]><plist/>", 1, "internal subset"),
        ("<plist><data>!!!</data></plist>", 1, "base64"),
        ("<plist><dict></dict></plist>trailing", 1, "after </plist>"),
        ("<dict></dict>", 1, "root element"),
        ("<plist><foo/></plist>", 1, "unknown element"),
        ("<plist>\n\n<key>k</key></plist>", 3, "outside a <dict>"),
        ("<plist><string>open", 1, "not closed"),
        ("", 1, "end of file"),
    ])
    func malformedInputNamesItsLine(_ input: String, _ line: Int, _ fragment: String) {
        #expect {
            _ = try parse(input)
        } throws: { error in
            guard let failure = error as? PlistParser.Failure else { return false }
            return failure.position.line == line && failure.message.contains(fragment)
        }
    }

    @Test func deepNestingIsRefusedNotOverflowed() {
        let depth = 10_000
        let text = "<plist>" + String(repeating: "<array>", count: depth) + String(repeating: "</array>", count: depth)
            + "</plist>"
        #expect(throws: PlistParser.Failure.self) { _ = try parse(text) }
        let shallow = "<plist>" + String(repeating: "<array>", count: 10) + String(repeating: "</array>", count: 10)
            + "</plist>"
        #expect((try? parse(shallow)) != nil)
    }
}
