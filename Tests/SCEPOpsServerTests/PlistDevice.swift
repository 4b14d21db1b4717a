import Foundation
import NIOHTTP1
import SCEPOpsTestSupport

/// A device at the plist level: its identity from a real scepserver, its messages signed
/// with openssl, sent over loopback to the server under test.
struct PlistDevice {
    let udid: String
    let identity: DeviceIdentity
    let harness: ProxyHarness

    init(udid: String, identity: DeviceIdentity, harness: ProxyHarness) {
        self.udid = udid
        self.identity = identity
        self.harness = harness
    }

    static func plist(_ dict: [String: Any]) -> [UInt8] {
        [UInt8](try! PropertyListSerialization.data(fromPropertyList: dict, format: .xml, options: 0))
    }

    func send(_ path: String, _ dict: [String: Any], signed: Bool = true, signer: DeviceIdentity? = nil)
        async throws -> ProxyHarness.Answer
    {
        let body = Self.plist(dict)
        var headers: [String: String] = [:]
        if signed { headers["Mdm-Signature"] = try await (signer ?? identity).signature(for: body) }
        return try await harness.request("http://127.0.0.1:\(harness.port)\(path)", method: .PUT, body: body, headers: headers)
    }

    func authenticate(enrollSecret: String?, udid: String? = nil) async throws -> ProxyHarness.Answer {
        let query = enrollSecret.map { "?enroll_secret=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" } ?? ""
        return try await send(
            "/mdm/apple/checkin" + query,
            ["MessageType": "Authenticate", "UDID": udid ?? self.udid, "Topic": "com.apple.mgmt.test", "SerialNumber": "C02\(self.udid)"])
    }

    func tokenUpdate(udid: String? = nil) async throws -> ProxyHarness.Answer {
        try await send(
            "/mdm/apple/checkin",
            ["MessageType": "TokenUpdate", "UDID": udid ?? self.udid, "Topic": "com.apple.mgmt.test",
                "Token": Data(repeating: 0xAB, count: 32), "PushMagic": "magic-\(self.udid)"])
    }

    /// Sends a report and returns the next command's uuid and request type, if any.
    func report(_ status: String, _ commandUUID: String? = nil, errorChain: [[String: Any]]? = nil) async throws
        -> (status: Int, uuid: String?, type: String?, payload: [UInt8])
    {
        var dict: [String: Any] = ["Status": status, "UDID": udid]
        if let commandUUID { dict["CommandUUID"] = commandUUID }
        if let errorChain { dict["ErrorChain"] = errorChain }
        let answer = try await send("/mdm/apple/command", dict)
        guard answer.status == 200, !answer.body.isEmpty,
            let command = try PropertyListSerialization.propertyList(from: Data(answer.body), format: nil) as? [String: Any]
        else { return (answer.status, nil, nil, []) }
        return (
            answer.status, command["CommandUUID"] as? String,
            (command["Command"] as? [String: Any])?["RequestType"] as? String, answer.body
        )
    }
}
