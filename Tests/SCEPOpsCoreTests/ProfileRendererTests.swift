import SCEPOpsCore
import SCEPOpsTestSupport
import Testing

@Suite("Rendering a profile for a host")
struct ProfileRendererTests {
    let values = ProfileRenderer.Values(
        challenge: Secret("p<a&s>s\"'word"),
        proxyURL: "https://mdm.example.com/mdm/scep/proxy/H%2Ca1%2CWIFI%2Ctok",
        renewalID: "fleet-a1")

    @Test func variablesAreFilledAndEscapedAndTheRestIsKept() throws {
        let source = ValidRepo.profile()  // challenge as $…, URL as ${…}, renewal id in the OU
        let rendered = try ProfileRenderer.render(Array(source.utf8), certificateAuthority: "WIFI", values: values)
        let root = try PlistParser.parse(rendered)
        let scep = try #require(root["PayloadContent"]?.elements?.first?["PayloadContent"])
        #expect(scep["Challenge"]?.string == "p<a&s>s\"'word")
        #expect(scep["URL"]?.string == values.proxyURL)
        #expect(scep["Subject"]?.elements?[0].elements?[0].elements?[1].string == "fleet-a1")
        #expect(!String(decoding: rendered, as: UTF8.self).contains("FLEET_VAR"))
        // Nothing else moved: the text around the variables is byte for byte the same.
        let text = String(decoding: rendered, as: UTF8.self)
        #expect(text.hasPrefix(String(source.prefix(upTo: source.range(of: "$FLEET_VAR")!.lowerBound))))
        #expect(text.contains("<string>p&lt;a&amp;s&gt;s&quot;&apos;word</string>"))
    }

    @Test func aVariableOfAnotherCAIsRefusedNotFilled() {
        let source = ValidRepo.profile(
            challenge: "$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_WIFI_2026", url: "$FLEET_VAR_CUSTOM_SCEP_PROXY_URL_WIFI_2026")
        #expect(throws: ProfileRenderer.Failure.unexpectedVariable("$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_WIFI_2026")) {
            _ = try ProfileRenderer.render(Array(source.utf8), certificateAuthority: "WIFI", values: values)
        }
    }

    @Test func dollarSignsThatAreNotVariablesStay() throws {
        let source = "<string>$5 and ${HOME} and $FLEET_VA</string>"
        let rendered = try ProfileRenderer.render(Array(source.utf8), certificateAuthority: "WIFI", values: values)
        #expect(String(decoding: rendered, as: UTF8.self) == source)
    }
}
