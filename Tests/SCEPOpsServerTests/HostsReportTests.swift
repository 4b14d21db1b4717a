import Foundation
import SCEPOpsCore
import SCEPOpsServer
import SCEPOpsStore
import Testing

/// What `scepops hosts` and `/v1/hosts` print.
@Suite("Hosts report")
struct HostsReportTests {
    let hosts = [
        HostSummary(
            uuid: "UDID-1", serial: "C02A", team: "Kiosks", enrolledAt: Date(timeIntervalSince1970: 0),
            lastSeen: Date(timeIntervalSince1970: 86_400), deliveries: [.verified: 2, .failed: 1]),
        HostSummary(
            uuid: "UDID-22", serial: "C0\u{1B}[2J", team: nil, enrolledAt: Date(timeIntervalSince1970: 0), lastSeen: nil,
            deliveries: [:]),
    ]

    @Test func textIsATableWithACountAndNoDeviceCanDriveTheTerminal() {
        #expect(HostsReport.text(hosts) == """
            SERIAL       UDID     TEAM    LAST SEEN             DELIVERIES
            C02A         UDID-1   Kiosks  1970-01-02T00:00:00Z  verified 2, failed 1
            C0\\u{1B}[2J  UDID-22  (none)  never                 -
            2 hosts

            """)
        #expect(HostsReport.text([]) == "No hosts.\n")
        #expect(HostsReport.filter(hosts, team: "Kiosks").map(\.uuid) == ["UDID-1"])
        #expect(HostsReport.filter(hosts, team: nil).count == 2)
    }

    @Test func jsonNamesEveryDeliveryStatus() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(HostsReport.json(hosts).utf8)) as? [String: Any])
        let listed = try #require(document["hosts"] as? [[String: Any]])
        #expect(document["format_version"] as? String == "1")
        #expect(listed.first?["deliveries"] as? [String: Int] == ["pending": 0, "sent": 0, "verified": 2, "failed": 1])
        #expect(listed.first?["last_seen_at"] as? String == "1970-01-02T00:00:00Z")
        #expect(listed.last?["team"] is NSNull && listed.last?["last_seen_at"] is NSNull)
    }
}
