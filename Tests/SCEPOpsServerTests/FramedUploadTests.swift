import Foundation
import SCEPOpsCore
import SCEPOpsServer
import Testing

/// The framed body remote mode sends: profile bytes raw after the JSON, exactly accounted for.
@Suite("Framed config uploads")
struct FramedUploadTests {
    let config = UnvalidatedConfig(
        source: ConfigSource(kind: .workingTree, repository: "repo"),
        certificateAuthorities: [
            CertificateAuthorityDocument(
                file: "certificate_authorities/wifi.yml", name: Located("WIFI", at: SourcePosition(line: 1, column: 7)),
                renewal: RenewalSettings(before: 86_280, maximumPerHour: 120)),
            CertificateAuthorityDocument(file: "certificate_authorities/vpn.yml"),
        ],
        profiles: [
            ProfileFile(path: "profiles/a.mobileconfig", content: Array("<plist>a</plist>".utf8)),
            ProfileFile(path: "profiles/unreadable.mobileconfig", content: nil),
            ProfileFile(path: "profiles/b.mobileconfig", content: [0, 255, 10, 13]),
        ])

    func call() -> AdminWire.PlanCall {
        AdminWire.PlanCall(config: ConfigUpload(config, embedsContent: false), caCheck: .init(offline: true, timeout: 5), format: .json)
    }

    @Test func theBytesComeBackAsTheyWereAndNothingElseIsAccepted() throws {
        let body = AdminWire.Framed.encode(call(), config)
        let decoded = try #require(AdminWire.Framed.decode(AdminWire.PlanCall.self, body))
        let back = try #require(decoded.config.config())
        #expect(back.profiles == config.profiles, "bytes, order and the unreadable file kept")
        #expect(back.certificateAuthorities == config.certificateAuthorities, "renewal settings and positions kept")
        #expect(AdminWire.Framed.decode(AdminWire.PlanCall.self, body.dropLast()) == nil, "a byte short")
        #expect(AdminWire.Framed.decode(AdminWire.PlanCall.self, body + Data([0])) == nil, "a byte over")
        #expect(AdminWire.Framed.decode(AdminWire.PlanCall.self, Data("99999999\n{}".utf8)) == nil)
        #expect(AdminWire.Framed.decode(AdminWire.PlanCall.self, Data("nonsense".utf8)) == nil)
    }
}
