import Foundation
import MDM
import Testing

/// The check-in and command-report codecs read what devices send: XML as Foundation writes
/// it (data wrapped over lines, integers, booleans), a binary plist, and refuse the rest.
@Suite("Check-in message codecs")
struct CheckInMessageTests {
    private func plist(_ object: [String: Any], _ format: PropertyListSerialization.PropertyListFormat = .xml) throws -> [UInt8] {
        [UInt8](try PropertyListSerialization.data(fromPropertyList: object, format: format, options: 0))
    }

    @Test func aCommandReportKeepsEveryField() throws {
        let certificate = Data((0..<300).map { UInt8($0 % 256) })
        let message: [String: Any] = [
            "UDID": "U-1", "Status": "Error", "CommandUUID": "C-1",
            "ErrorChain": [["LocalizedDescription": "no room", "ErrorDomain": "MCInstallationErrorDomain", "ErrorCode": 4001]],
            "ProfileList": [["PayloadIdentifier": "com.example.wifi"], ["PayloadIdentifier": "com.example.vpn"]],
            "CertificateList": [["Data": certificate, "IsIdentity": true, "CommonName": "x"]],
        ]
        for format in [PropertyListSerialization.PropertyListFormat.xml, .binary] {
            let report = try CommandReport(plist: try plist(message, format))
            #expect(report.udid == "U-1" && report.status == .error && report.commandUUID == "C-1")
            #expect(report.errors == ["no room (MCInstallationErrorDomain 4001)"])
            #expect(report.profileList == ["com.example.wifi", "com.example.vpn"])
            #expect(report.certificateList?.map(\.der) == [[UInt8](certificate)])
            #expect(report.certificateList?.map(\.isIdentity) == [true])
        }
    }

    @Test func checkInMessagesAreReadAndTheRestRefused() throws {
        let token = Data([0xAB, 0x01, 0xFF])
        let update = try CheckInMessage(
            plist: try plist(["MessageType": "TokenUpdate", "UDID": "U-1", "Topic": "t", "Token": token, "PushMagic": "m"]))
        #expect(update == .tokenUpdate(udid: "U-1", topic: "t", token: [0xAB, 0x01, 0xFF], pushMagic: "m"))
        let authenticate = try CheckInMessage(
            plist: try plist(["MessageType": "Authenticate", "UDID": "U-1", "Topic": "t", "SerialNumber": "S"], .binary))
        #expect(authenticate == .authenticate(udid: "U-1", topic: "t", serialNumber: "S"))
        #expect(throws: CheckInMessage.Failure.missingKey("Token")) {
            try CheckInMessage(plist: try plist(["MessageType": "TokenUpdate", "UDID": "U-1", "Topic": "t", "PushMagic": "m"]))
        }
        #expect(throws: CheckInMessage.Failure.notAPlist) { try CheckInMessage(plist: Array("<plist><array/></plist>".utf8)) }
        #expect(throws: CheckInMessage.Failure.notAPlist) { try CommandReport(plist: Array("not a plist".utf8)) }
        #expect(throws: CheckInMessage.Failure.missingKey("Status")) {
            try CommandReport(plist: try plist(["UDID": "U-1", "Status": "Sleeping"]))
        }
    }

    /// A UDID with a control character is refused: SQLite's text reads stop at a NUL, so
    /// `U-1\0x` would read back from the state as `U-1` and pass for that host.
    @Test(arguments: ["U-1\u{0}x", "U-1\u{1B}", "U-1\u{7F}", "U-1\u{85}"])
    func aUDIDWithAControlCharacterIsRefused(_ udid: String) throws {
        let raw = Array("<plist><dict><key>MessageType</key><string>Authenticate</string><key>UDID</key><string>\(udid)</string><key>Topic</key><string>t</string></dict></plist>".utf8)
        #expect(throws: CheckInMessage.Failure.controlCharacter("UDID")) { try CheckInMessage(plist: raw) }
        for message in [["MessageType": "TokenUpdate", "UDID": udid, "Topic": "t", "Token": Data([1]), "PushMagic": "m"], ["MessageType": "CheckOut", "UDID": udid]] {
            #expect(throws: CheckInMessage.Failure.controlCharacter("UDID")) { try CheckInMessage(plist: try plist(message)) }
        }
        #expect(throws: CheckInMessage.Failure.controlCharacter("UDID")) { try CommandReport(plist: try plist(["UDID": udid, "Status": "Idle"])) }
        #expect(try CommandReport(plist: try plist(["UDID": "U-1\u{A0}", "Status": "Idle"])).udid == "U-1\u{A0}", "past C1")
    }
}
