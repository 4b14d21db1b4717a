import Foundation
import SCEPOpsCore
import SCEPOpsServer
import SCEPOpsStore
import Testing

/// What `scepops certificates` and `/v1/certificates` print, on a known set.
@Suite("Certificates report")
struct CertificatesReportTests {
    static let day: TimeInterval = 86_400
    let now = Date(timeIntervalSince1970: 1_780_000_000)

    func certificate(_ serial: String, host: String, team: String?, profile: String?, ca: String?, expiresIn days: Double,
        validity: Double = 365, renewal: RenewalProgress? = nil) -> HostCertificate
    {
        let notAfter = now.addingTimeInterval(days * Self.day)
        return HostCertificate(
            hostUDID: host, hostSerial: "S-\(host)", team: team, profile: profile, certificateAuthority: ca,
            subject: "CN=\(host),OU=fleet-x", serial: serial, notBefore: notAfter.addingTimeInterval(-validity * Self.day),
            notAfter: notAfter, renewal: renewal)
    }

    var certificates: [HostCertificate] {
        [
            certificate("01", host: "H1", team: "Kiosks", profile: "com.example.wifi", ca: "WIFI", expiresIn: 3),
            certificate("02", host: "H2", team: "Kiosks", profile: "com.example.vpn", ca: "VPN", expiresIn: 45,
                renewal: RenewalProgress(state: .failed, attempts: 3, lastAttemptAt: now.addingTimeInterval(-3600))),
            certificate("03", host: "H2", team: "Workstations", profile: nil, ca: nil, expiresIn: 200),
            certificate("04", host: "H3", team: "Workstations", profile: "com.example.wifi", ca: "WIFI", expiresIn: -1),
        ]
    }

    func rows(_ filter: CertificatesReport.Filter = .init(), settings: [String: RenewalSettings] = [:]) -> [CertificatesReport.Row] {
        CertificatesReport.rows(certificates, settings: settings, filter: filter, now: now)
    }

    @Test func jsonHasTheSpecsKeysInRFC3339UTC() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(CertificatesReport.json(rows()).utf8)) as? [String: Any])
        #expect(Set(document.keys) == ["format_version", "certificates"] && document["format_version"] as? String == "1")
        let listed = try #require(document["certificates"] as? [[String: Any]])
        #expect(listed.count == 4)
        for entry in listed {
            #expect(Set(entry.keys) == [
                "host_udid", "host_serial", "team", "profile", "certificate_authority", "subject", "serial", "not_before", "not_after",
                "managed", "renewal",
            ])
            let renewal = try #require(entry["renewal"] as? [String: Any])
            #expect(Set(renewal.keys) == ["state", "attempts", "last_attempt_at"])
            #expect(RenewalState(rawValue: renewal["state"] as? String ?? "") != nil)
            #expect((entry["not_after"] as? String)?.hasSuffix("Z") == true)
        }
        let first = listed[0]
        #expect(first["serial"] as? String == "01" && first["managed"] as? Bool == true && first["certificate_authority"] as? String == "WIFI")
        #expect((first["renewal"] as? [String: Any])?["state"] as? String == "due", "3 of 365 days left")
        #expect(first["not_after"] as? String == now.addingTimeInterval(3 * Self.day).ISO8601Format())
        let failed = try #require(listed[1]["renewal"] as? [String: Any])
        #expect(failed["state"] as? String == "failed" && failed["attempts"] as? Int == 3)
        #expect(failed["last_attempt_at"] as? String == now.addingTimeInterval(-3600).ISO8601Format())
        #expect(listed[2]["managed"] as? Bool == false && listed[2]["profile"] is NSNull)
        #expect((listed[2]["renewal"] as? [String: Any])?["state"] as? String == "none")
    }

    @Test func theCAsThresholdDecidesWhatIsDue() {
        #expect(rows().map(\.renewal.state) == [.due, .failed, .none, .due])
        let early = rows(settings: ["VPN": RenewalSettings(before: 60 * Self.day)])
        #expect(early[1].renewal.state == .failed, "a failed renewal stays failed")
        let late = rows(settings: ["WIFI": RenewalSettings(before: Self.day)])
        #expect(late[0].renewal.state == .none && late[3].renewal.state == .due)
    }

    @Test func filtersByExpiryCAAndTeam() {
        #expect(rows(.init(expiring: 30 * Self.day)).map(\.certificate.serial) == ["01", "04"], "expired ones too")
        #expect(rows(.init(certificateAuthority: "WIFI")).map(\.certificate.serial) == ["01", "04"])
        #expect(rows(.init(team: "Workstations")).map(\.certificate.serial) == ["03", "04"])
        #expect(rows(.init(expiring: 60 * Self.day, certificateAuthority: "VPN", team: "Kiosks")).map(\.certificate.serial) == ["02"])
    }

    @Test func textEndsWithAWeeklyHistogramOfThirteenWeeks() {
        let text = CertificatesReport.text(rows(), now: now)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0].hasPrefix("HOST  UDID  TEAM"))
        #expect(text.contains("4 certificates, 3 managed\n"))
        let histogram = lines.drop { !$0.hasPrefix("Expiring by week") }.dropFirst().filter { !$0.isEmpty }
        #expect(histogram.count == 13 + 2, "expired, 13 weeks, later: \(histogram)")
        #expect(histogram.first == "  expired      1")
        #expect(histogram.dropFirst().first?.hasPrefix("  \(now.ISO8601Format().prefix(10))   1     #") == true, "\(histogram)")
        #expect(histogram.dropFirst(7).first?.hasPrefix("  \(now.addingTimeInterval(42 * Self.day).ISO8601Format().prefix(10))   1") == true)
        #expect(histogram.last == "  later        1")
        #expect(CertificatesReport.text([], now: now) == "No certificates.\n")
        #expect(CertificatesReport.histogram([now.addingTimeInterval(7 * Self.day - 1), now.addingTimeInterval(7 * Self.day)], now: now).weeks.prefix(2) == [1, 1])
    }

    @Test func csvQuotesSubjectsAndDisarmsFormulas() {
        var hostile = certificates[0]
        hostile.subject = "CN=\"a\",O=b"
        hostile.hostSerial = "=HYPERLINK(\"x\")"
        let csv = CertificatesReport.csv(CertificatesReport.rows([hostile], settings: [:], filter: .init(), now: now))
        let lines = csv.components(separatedBy: "\r\n")
        #expect(lines[0] == "host_udid,host_serial,team,profile,certificate_authority,subject,serial,not_before,not_after,managed,renewal_state,renewal_attempts,renewal_last_attempt_at")
        #expect(lines[1].hasPrefix("H1,\"'=HYPERLINK(\"\"x\"\")\",Kiosks,com.example.wifi,WIFI,\"CN=\"\"a\"\",O=b\",01,"))
        #expect(lines[1].hasSuffix(",true,due,0,"))
        #expect(lines.count == 3 && lines[2].isEmpty)
    }
}

/// The fleet gauges `/metrics` shows.
@Suite("Fleet gauges")
struct FleetGaugesTests {
    @Test func certificatesByCAAndExpiryDeliveriesByStatusHostsByTeam() {
        let report = CertificatesReportTests()
        let hosts = [
            HostSummary(uuid: "H1", serial: nil, team: "Kiosks", enrolledAt: report.now, lastSeen: nil, deliveries: [.verified: 2]),
            HostSummary(uuid: "H2", serial: nil, team: "Kiosks", enrolledAt: report.now, lastSeen: nil, deliveries: [.failed: 1, .verified: 1]),
            HostSummary(uuid: "H3", serial: nil, team: nil, enrolledAt: report.now, lastSeen: nil, deliveries: [:]),
        ]
        let gauges = FleetGauges.compute(certificates: report.certificates, hosts: hosts, now: report.now)
        func value(_ name: String, _ labels: [String: String]) -> Int? {
            gauges.first { $0.name == name && $0.labels == labels }?.value
        }
        #expect(value("certificates", ["certificate_authority": "WIFI", "expiry": "under_7d"]) == 1)
        #expect(value("certificates", ["certificate_authority": "WIFI", "expiry": "expired"]) == 1)
        #expect(value("certificates", ["certificate_authority": "WIFI", "expiry": "later"]) == 0)
        #expect(value("certificates", ["certificate_authority": "VPN", "expiry": "under_90d"]) == 1)
        #expect(gauges.filter { $0.name == "certificates" }.count == 2 * FleetGauges.buckets.count, "unmanaged ones are not counted")
        #expect(value("deliveries", ["status": "verified"]) == 3 && value("deliveries", ["status": "failed"]) == 1)
        #expect(value("deliveries", ["status": "pending"]) == 0)
        #expect(value("hosts", ["team": "Kiosks"]) == 2 && gauges.filter { $0.name == "hosts" }.count == 1)
    }
}
