import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SCEP

/// One simulated Apple host: it enrolls from the enrollment profile (a device identity by
/// SCEP, Authenticate, TokenUpdate, every message signed) and answers MDM commands as a
/// device does, running the SCEP payloads of the profiles it installs. One task drives
/// it; nothing else touches it until that task ends.
final class SimulatedHost: @unchecked Sendable {
    private(set) var record: HostRecord
    let settings: EnrollmentSettings
    let http: HTTPClient
    let events: EventLog
    let timeout: TimeAmount
    /// Identity enrolments pass through it, one at a time per CA by default.
    let identityGate: UpstreamGate
    /// Bounds the SCEP exchanges of profiles in flight across all simulated hosts.
    let exchangeGate: UpstreamGate
    private var signer: MessageSigner?

    /// Milliseconds from start to enrolled (identity, Authenticate, TokenUpdate).
    private(set) var enrollmentMilliseconds: Double?
    /// Milliseconds of each profile SCEP exchange, and when each began and ended.
    private(set) var scepMilliseconds: [Double] = []
    private(set) var scepWindow: (first: Date, last: Date)?
    private(set) var certificatesIssued = 0
    private(set) var failures: [String: Int] = [:]
    /// When a profile was last installed or removed, and whether a ProfileList was answered
    /// since: what "settled" is judged by.
    private(set) var lastChange = Date()
    private(set) var listedSinceChange = false

    init(
        record: HostRecord, settings: EnrollmentSettings, http: HTTPClient, events: EventLog, timeout: TimeAmount,
        identityGate: UpstreamGate, exchangeGate: UpstreamGate
    ) {
        self.identityGate = identityGate
        self.exchangeGate = exchangeGate
        self.record = record
        self.settings = settings
        self.http = http
        self.events = events
        self.timeout = timeout
    }

    var udid: String { record.udid }

    func fail(_ reason: String, _ detail: String) {
        failures[reason, default: 0] += 1
        events.record(udid, "error", ["reason": reason, "detail": detail])
    }

    // MARK: - Enrolment

    /// Gets the device identity (once) and checks in. False, with the failure counted, when
    /// it could not.
    func enroll() async -> Bool {
        let started = Date()
        do {
            if let key = record.identityKeyPEM, let certificate = record.identityCertificate {
                signer = try MessageSigner(key: try RSAKey(pem: [UInt8](key)), certificate: [UInt8](certificate))
                if record.enrolled { return true }
            } else {
                let payload = settings.identity.substituting(udid: record.udid, serial: record.serial)
                let direct = SCEPHTTPClient(client: http, url: payload.url, timeout: timeout)
                let client = SCEPClient(service: GatedSCEPService(direct, gate: identityGate, key: payload.url))
                let identity = try await Self.retrying { () async throws(SCEPClientError) in
                    try await client.enroll(payload.request, name: payload.name)
                }
                record.identityKeyPEM = Data(identity.key.pem)
                record.identityCertificate = Data(identity.certificate)
                signer = try MessageSigner(key: identity.key, certificate: identity.certificate)
            }
        } catch let error as SCEPClientError {
            fail("identity-\(error.reason)", error.description)
            return false
        } catch {
            fail("identity-key", "\(error)")
            return false
        }
        do {
            _ = try await send(
                settings.checkInURL,
                [
                    "MessageType": "Authenticate", "UDID": udid, "Topic": settings.topic, "SerialNumber": record.serial,
                    "Model": "Mac14,2", "ProductName": "Mac14,2", "OSVersion": "14.5", "DeviceName": "sim-\(record.serial)",
                ], checkIn: true)
            var token = [UInt8](repeating: 0, count: 32)
            for index in token.indices { token[index] = UInt8.random(in: 0...255) }
            _ = try await send(
                settings.checkInURL,
                [
                    "MessageType": "TokenUpdate", "UDID": udid, "Topic": settings.topic, "Token": Data(token),
                    "PushMagic": UUID().uuidString,
                ], checkIn: true)
        } catch {
            fail("check-in", "\(error)")
            return false
        }
        record.enrolled = true
        enrollmentMilliseconds = Date().timeIntervalSince(started) * 1000
        events.record(udid, "enrolled", ["serial": record.serial])
        return true
    }

    /// The identity is asked of the CA directly, with no one-time token at stake: like a
    /// device, the simulator tries again (3 tries, a short pause between) when the CA fails,
    /// as micromdm's scepserver does under concurrent requests.
    static func retrying<T>(_ attempt: () async throws(SCEPClientError) -> T) async throws(SCEPClientError) -> T {
        var tries = 0
        while true {
            do {
                return try await attempt()
            } catch {
                tries += 1
                guard tries < 3 else { throw error }
                try? await Task.sleep(for: .milliseconds(100 * tries + Int.random(in: 0...100)))
            }
        }
    }

    // MARK: - The command channel

    /// One Idle poll, then every command the server has, answered in turn. True when
    /// there was a command.
    @discardableResult
    func poll() async -> Bool {
        var busy = false
        do {
            var body = try await send(settings.serverURL, ["Status": "Idle", "UDID": udid], checkIn: false)
            while !body.isEmpty {
                busy = true
                guard let command = try? PropertyListSerialization.propertyList(from: Data(body), format: nil) as? [String: Any],
                    let uuid = command["CommandUUID"] as? String
                else {
                    fail("command-format", "the server sent something that is not a command")
                    return busy
                }
                // Each command as it arrives, so a test can count how often one was delivered.
                let request = command["Command"] as? [String: Any] ?? [:]
                events.record(udid, "command", ["command_uuid": uuid, "request_type": request["RequestType"] as? String ?? ""])
                var report = await answer(request)
                report["UDID"] = udid
                report["CommandUUID"] = uuid
                do {
                    body = try await send(settings.serverURL, report, checkIn: false)
                } catch {
                    // The server may not have recorded the answer: it may offer the command again.
                    events.record(udid, "report-lost", ["command_uuid": uuid])
                    throw error
                }
            }
        } catch {
            fail("command-channel", "\(error)")
        }
        return busy
    }

    private func answer(_ command: [String: Any]) async -> [String: Any] {
        switch command["RequestType"] as? String {
        case "InstallProfile":
            guard let payload = command["Payload"] as? Data else { return Self.error(12022, "MCMDMErrorDomain", "no Payload") }
            return await install([UInt8](payload))
        case "RemoveProfile":
            let identifier = command["Identifier"] as? String ?? ""
            let removed = record.profiles.removeValue(forKey: identifier)
            lastChange = Date()
            listedSinceChange = false
            events.record(udid, "remove", ["profile": identifier, "held": removed != nil, "certificates": removed?.certificates.count ?? 0])
            return ["Status": "Acknowledged"]
        case "ProfileList":
            listedSinceChange = true
            let list = record.profiles.values.sorted { $0.identifier < $1.identifier }.map { profile -> [String: Any] in
                ["PayloadIdentifier": profile.identifier, "PayloadUUID": profile.uuid, "IsManaged": true,
                    "PayloadDisplayName": profile.displayName ?? profile.identifier]
            }
            return ["Status": "Acknowledged", "ProfileList": list]
        case "CertificateList":
            var list: [[String: Any]] = []
            if let identity = record.identityCertificate {
                list.append(["CommonName": "device identity", "Data": identity, "IsIdentity": true])
            }
            for profile in record.profiles.values.sorted(by: { $0.identifier < $1.identifier }) {
                for certificate in profile.certificates {
                    list.append(["CommonName": certificate.subject, "Data": certificate.der, "IsIdentity": true])
                }
            }
            return ["Status": "Acknowledged", "CertificateList": list]
        case let other:
            return Self.error(12021, "MCMDMErrorDomain", "Unknown request type \(other ?? "(none)")")
        }
    }

    /// Installs a profile: each SCEP payload is enrolled against its URL, then the profile
    /// replaces any with the same identifier. One failed payload fails the whole profile.
    private func install(_ bytes: [UInt8]) async -> [String: Any] {
        guard let profile = try? PropertyListSerialization.propertyList(from: Data(bytes), format: nil) as? [String: Any],
            let identifier = profile["PayloadIdentifier"] as? String
        else {
            fail("profile-format", "the profile is not a plist with a PayloadIdentifier")
            return Self.error(1000, "MCProfileErrorDomain", "The profile cannot be read.")
        }
        var held = HostRecord.HeldProfile(
            identifier: identifier, uuid: profile["PayloadUUID"] as? String ?? "", displayName: profile["PayloadDisplayName"] as? String,
            certificates: [])
        var urls: [String] = []
        for payload in profile["PayloadContent"] as? [[String: Any]] ?? []
        where payload["PayloadType"] as? String == "com.apple.security.scep" {
            guard let scep = SCEPPayload(payload)?.substituting(udid: udid, serial: record.serial) else {
                fail("scep-payload", "a SCEP payload without a URL")
                return Self.error(22013, "MCProfileErrorDomain", "The SCEP payload has no URL.")
            }
            urls.append(scep.url)
            do {
                let client = SCEPClient(service: SCEPHTTPClient(client: http, url: scep.url, timeout: timeout))
                let (enrollment, started) = try await exchangeGate.run("exchanges") {
                    () async throws -> (SCEPEnrollment, Date) in
                    let started = Date()
                    return (try await client.enroll(scep.request, name: scep.name), started)
                }
                scepMilliseconds.append(Date().timeIntervalSince(started) * 1000)
                scepWindow = (min(scepWindow?.first ?? started, started), Date())
                certificatesIssued += 1
                held.certificates.append(
                    .init(
                        der: Data(enrollment.certificate), keyPEM: Data(enrollment.key.pem), subject: enrollment.summary.subject,
                        issuer: enrollment.issuer, fingerprint: enrollment.summary.fingerprint, notAfter: enrollment.summary.notAfter))
            } catch {
                let failure = error as? SCEPClientError ?? .codec("\(error)")
                fail("scep-\(failure.reason)", "\(identifier): \(failure.description)")
                events.record(udid, "install-failed", ["profile": identifier, "reason": failure.reason])
                return Self.error(22013, "MCProfileErrorDomain", "SCEP enrollment failed: \(failure.description)")
            }
        }
        record.profiles[identifier] = held
        lastChange = Date()
        listedSinceChange = false
        events.record(
            udid, "install",
            [
                "profile": identifier, "uuid": held.uuid, "scep_urls": urls,
                "certificates": held.certificates.map {
                    ["subject": $0.subject, "issuer": $0.issuer, "fingerprint": $0.fingerprint, "not_after": $0.notAfter,
                        "der": $0.der.base64EncodedString()]
                },
            ])
        return ["Status": "Acknowledged"]
    }

    static func error(_ code: Int, _ domain: String, _ description: String) -> [String: Any] {
        [
            "Status": "Error",
            "ErrorChain": [["ErrorCode": code, "ErrorDomain": domain, "LocalizedDescription": description, "USEnglishDescription": description]],
        ]
    }

    // MARK: - Transport

    struct HTTPFailure: Error, CustomStringConvertible {
        var description: String
    }

    private func send(_ url: String, _ message: [String: Any], checkIn: Bool) async throws -> [UInt8] {
        let body = [UInt8](try PropertyListSerialization.data(fromPropertyList: message, format: .xml, options: 0))
        guard let signer else { throw HTTPFailure(description: "no device identity") }
        var request = HTTPClientRequest(url: url)
        request.method = .PUT
        request.headers.add(name: "Mdm-Signature", value: try signer.signature(for: body))
        request.headers.add(name: "Content-Type", value: checkIn ? "application/x-apple-aspen-mdm-checkin" : "application/x-apple-aspen-mdm")
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await http.execute(request, timeout: timeout)
        let answer = try await response.body.collect(upTo: 8 << 20)
        guard response.status == .ok else {
            throw HTTPFailure(description: "the server answered HTTP \(response.status.code): \(String(buffer: answer).prefix(200))")
        }
        return Array(answer.readableBytesView)
    }
}
