import SCEPOpsCore
import Testing

@Suite("Proxy identifiers")
struct ProxyIdentifierTests {
    @Test func roundTripsThroughItsPathComponent() {
        let identifier = ProxyIdentifier(host: "HOST-1", profile: "aE18-B2", certificateAuthority: "Wi_Fi", token: "t0k~en.")
        #expect(identifier.pathComponent == "HOST-1%2CaE18-B2%2CWi_Fi%2Ct0k~en.")
        #expect(ProxyIdentifier(pathComponent: identifier.pathComponent) == identifier)
    }

    @Test(arguments: [
        ("h%2cp%2Cca%2Ct", ProxyIdentifier(host: "h", profile: "p", certificateAuthority: "ca", token: "t")),
        ("h,p,ca,t", ProxyIdentifier(host: "h", profile: "p", certificateAuthority: "ca", token: "t")),
        ("h%C3%A9,p,ca,t", ProxyIdentifier(host: "hé", profile: "p", certificateAuthority: "ca", token: "t")),
        // 255 characters in 510 bytes: a part is limited by its characters.
        (String(repeating: "é", count: 255) + ",p,ca,t",
            ProxyIdentifier(host: String(repeating: "é", count: 255), profile: "p", certificateAuthority: "ca", token: "t")),
        ("h%C2%A0,p,ca,t", ProxyIdentifier(host: "h\u{A0}", profile: "p", certificateAuthority: "ca", token: "t")),  // past C1
    ])
    func decodes(_ written: String, _ expected: ProxyIdentifier) {
        #expect(ProxyIdentifier(pathComponent: written) == expected)
    }

    @Test(arguments: [
        "h,p,ca,t%", "h,p,ca,t%2", "h,p,ca,t%zz", "h,p,ca,t%G0",  // a % without two hex digits
        "h%FF,p,ca,t", "h%C3,p,ca,t",  // bytes that are not UTF-8
        "h%00,p,ca,t", "h%1F,p,ca,t", "h%7F,p,ca,t", "h%C2%80,p,ca,t", "h%C2%85,p,ca,t", "h%C2%9F,p,ca,t",  // control characters
        "h\u{7},p,ca,t", "h,p,ca,t\u{9F}",  // the same, not encoded
        String(repeating: "a", count: 256) + ",p,ca,t", String(repeating: "é", count: 256) + ",p,ca,t",  // a part over 255 characters
        "h,p,ca", "h,p,ca,t,x", "h,,ca,t", "h%2Cp%2Cca%2C",  // not four non-empty parts
    ])
    func refuses(_ written: String) {
        #expect(ProxyIdentifier(pathComponent: written) == nil)
    }
}
