import Foundation
import MDM
import Testing

@Suite("MDM command plists")
struct MDMCommandTests {
    private func decode(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try PropertyListSerialization.propertyList(from: Data(bytes), format: nil) as? [String: Any])
    }

    @Test func everyCommandIsAPlistFoundationReads() throws {
        let payload: [UInt8] = Array("<plist>ü & <x></plist>".utf8) + [0, 255]
        let install = try decode(MDMCommand.installProfile(payload: payload).plist(commandUUID: "U-1"))
        #expect(install["CommandUUID"] as? String == "U-1")
        let command = try #require(install["Command"] as? [String: Any])
        #expect(command["RequestType"] as? String == "InstallProfile")
        #expect(command["Payload"] as? Data == Data(payload))

        let remove = try decode(MDMCommand.removeProfile(identifier: "com.example.<a&b>").plist(commandUUID: "U-2"))
        #expect((remove["Command"] as? [String: Any])?["Identifier"] as? String == "com.example.<a&b>")
        let list = try decode(MDMCommand.profileList.plist(commandUUID: "U-3"))
        #expect((list["Command"] as? [String: Any])?["ManagedOnly"] as? Bool == true)
    }
}
