import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MDM
import NIOCore
import SCEP
import SCEPOpsCore
import SCEPOpsStore

/// The Apple MDM check-in (`PUT /mdm/apple/checkin`) and command (`PUT /mdm/apple/command`)
/// channels. Every request is identified by its `Mdm-Signature`; the identity is bound to
/// the UDID at Authenticate and must match on every later request. Refusals are 400,
/// never 401, which would make a device unenroll.
public struct MDMRoutes<Context: RequestContext>: Sendable {
    public static var checkInPath: RouterPath { "/mdm/apple/checkin" }
    public static var commandPath: RouterPath { "/mdm/apple/command" }
    static var maximumBody: Int { 1 << 20 }

    let store: any MDMStore
    let verifier: MDMSignatureVerifier
    let renderer: CommandRenderer
    /// How devices reach this server: `https` when it serves TLS itself.
    let scheme: String
    /// What becomes of a certificate profile's InstallProfile that the device reports failed.
    let redelivery: RedeliveryPolicy
    let metrics: ServerMetrics
    let bodyTimeout: Duration
    let logger: Logger
    let legacyCheckInWarning = OnceFlag()

    public init(
        store: any MDMStore, verifier: MDMSignatureVerifier, renderer: CommandRenderer, scheme: String = "http",
        redelivery: RedeliveryPolicy = RedeliveryPolicy(), metrics: ServerMetrics = ServerMetrics(), bodyTimeout: Duration = .seconds(30),
        logger: Logger = Logger(label: "scepops.mdm")
    ) {
        self.store = store
        self.verifier = verifier
        self.renderer = renderer
        self.scheme = scheme
        self.redelivery = redelivery
        self.metrics = metrics
        self.bodyTimeout = bodyTimeout
        self.logger = logger
    }

    public func add(to router: Router<Context>) {
        // Devices PUT; Fleet's simulator POSTs.
        for method in [HTTPRequest.Method.put, .post] {
            router.on(Self.checkInPath, method: method) { request, context in try await checkIn(request, context) }
            router.on(Self.commandPath, method: method) { request, context in try await command(request, context) }
        }
    }

    private func signed(_ request: Request) async throws -> (body: [UInt8], identity: String) {
        let buffer = try await BoundedBody.collect(request, upTo: Self.maximumBody, timeout: bodyTimeout)
        let body = Array(buffer.readableBytesView)
        let header = request.headers[HTTPField.Name("Mdm-Signature")!]
        do {
            return (body, try verifier.verify(header: header, body: body).fingerprint)
        } catch {
            throw HTTPError(.badRequest, message: "the device identity could not be verified")
        }
    }

    func checkIn(_ request: Request, _ context: Context) async throws -> Response {
        let (body, identity) = try await signed(request)
        let message: CheckInMessage
        do {
            message = try CheckInMessage(plist: body)
        } catch {
            throw Self.badRequest(error, "not a check-in message")
        }
        switch message {
        case .authenticate(let udid, _, let serial):
            guard let team = try await team(of: request) else { throw refused(.unknownEnrollSecret, udid, "unknown enrollment") }
            switch try await store.authenticate(host: udid, serial: serial, team: team, identity: identity, now: Date()) {
            case .success:
                logger.info("host enrolled", metadata: ["udid": "\(udid)", "serial": "\(serial ?? "")", "team": "\(team)"])
            case .failure(.hostBoundElsewhere):
                throw refused(
                    .hostBoundElsewhere, udid,
                    "this device is enrolled with another identity; an operator can allow a new one with `scepops hosts allow-reenroll`")
            case .failure(let refusal):
                throw refused(refusal, udid, "this identity belongs to another device")
            }
        case .tokenUpdate(let udid, let topic, let token, let pushMagic):
            try await requireBound(udid, identity)
            try await store.updatePush(host: udid, token: Hex.encode(token), pushMagic: pushMagic, topic: topic)
            logger.info("push token updated", metadata: ["udid": "\(udid)"])
        case .checkOut(let udid):
            try await requireBound(udid, identity)
            try await store.checkOut(host: udid)
            logger.info("host checked out", metadata: ["udid": "\(udid)"])
        case .unsupported:
            logger.notice("MDM request refused", metadata: ["reason": "unsupported_check_in"])
            throw HTTPError(.badRequest, message: "unsupported check-in message")
        }
        return Response(status: .ok)
    }

    func command(_ request: Request, _ context: Context) async throws -> Response {
        let (body, identity) = try await signed(request)
        let report: CommandReport
        do {
            report = try CommandReport(plist: body)
        } catch {
            throw Self.badRequest(error, "not a command report")
        }
        if report.status == .idle {
            // Most requests: the binding and whether there is anything to do, in one read.
            switch try await store.idlePoll(host: report.udid, identity: identity, now: Date()) {
            case .notBound: throw refused(.identityNotBound, report.udid, "this identity is not the device's")
            case .quiet:
                logCommandResult(report)
                return Response(status: .ok)
            case .report: break
            }
        } else {
            try await requireBound(report.udid, identity)
        }
        logCommandResult(report)
        let result: CommandResult =
            switch report.status {
            case .acknowledged:
                if let identifiers = report.profileList {
                    .profileList(identifiers)
                } else if let certificates = report.certificateList {
                    .certificateList(Self.read(certificates))
                } else {
                    .acknowledged
                }
            case .error, .commandFormatError:
                .error(detail: report.errors.isEmpty ? report.status.rawValue : report.errors.joined(separator: "; "))
            case .notNow: .notNow
            case .idle: .idle
            }
        switch try await store.report(host: report.udid, commandUUID: report.commandUUID, result: result, policy: redelivery) {
        case .failure(let refusal):
            throw refused(refusal, report.udid, "unknown command")
        case .success(nil):
            return Response(status: .ok)
        case .success(let next?):
            let plist: [UInt8]
            do {
                let base = "\(scheme)://\(request.head.authority ?? "localhost")"
                plist = try await renderer.plist(for: next, requestBaseURL: base)
            } catch {
                // A profile or CA removed since the command was queued: nothing to send now;
                // apply has queued what replaces it.
                return Response(status: .ok)
            }
            logger.info(
                "command sent",
                metadata: ["udid": "\(report.udid)", "command": "\(next.commandUUID ?? "")", "type": "\(next.type.rawValue)",
                    "profile": "\(next.profile)", "ca": "\(next.certificateAuthority ?? "")"])
            var headers = HTTPFields()
            headers[.contentType] = "application/xml; charset=UTF-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: plist)))
        }
    }

    /// The team a check-in URL names: `?team=<reference>` as enrollment profiles have it, or
    /// the enroll secret itself as profiles made before the reference did (said once: the
    /// secret is in every proxy's access log, and a new enrollment profile takes it out).
    private func team(of request: Request) async throws -> String? {
        let query = request.uri.queryParameters
        if let reference = query.get("team") { return try await store.team(checkInReference: String(reference)) }
        guard let secret = query.get("enroll_secret") else { return nil }
        if legacyCheckInWarning.claim() {
            logger.warning(
                "a device enrolled with the enroll secret in its check-in URL: hand out a new enrollment profile (`scepops enrollment-profile`), which names the team by reference")
        }
        return try await store.team(enrollSecret: Secret(String(secret)))
    }

    /// Idle check-ins are the bulk of a fleet's traffic: debug. Every answer to a command is info,
    /// an error with the device's own words.
    private func logCommandResult(_ report: CommandReport) {
        var metadata: Logger.Metadata = ["udid": "\(report.udid)", "status": "\(report.status.rawValue)"]
        if report.status == .idle {
            logger.debug("idle check-in", metadata: metadata)
            return
        }
        metadata["command"] = "\(report.commandUUID ?? "")"
        if let list = report.profileList { metadata["profiles"] = "\(list.count)" }
        if let list = report.certificateList { metadata["certificates"] = "\(list.count)" }
        if report.status == .error || report.status == .commandFormatError {
            metadata["error"] = "\(report.errors.joined(separator: "; ").prefix(500))"
            logger.warning("command failed on the device", metadata: metadata)
        } else {
            logger.info("command result", metadata: metadata)
        }
    }

    /// Summaries of the certificates a host listed; one that does not parse is skipped.
    static func read(_ certificates: [(der: [UInt8], isIdentity: Bool)]) -> [ReportedCertificate] {
        certificates.compactMap { entry in
            CertificateParser.held(entry.der).map { ReportedCertificate($0, isIdentity: entry.isIdentity) }
        }
    }

    private func requireBound(_ udid: String, _ identity: String) async throws {
        guard try await store.isBound(host: udid, identity: identity) else {
            throw refused(.identityNotBound, udid, "this identity is not the device's")
        }
    }

    /// A body that is not a message: 400, saying which key is wrong where one is.
    static func badRequest(_ failure: CheckInMessage.Failure, _ otherwise: String) -> HTTPError {
        switch failure {
        case .controlCharacter(let key): HTTPError(.badRequest, message: "the \(key) holds a control character")
        case .missingKey(let key): HTTPError(.badRequest, message: "\(otherwise): no \(key)")
        case .notAPlist: HTTPError(.badRequest, message: otherwise)
        }
    }

    /// Counted and logged; answered 400.
    private func refused(_ refusal: MDMRefusal, _ udid: String, _ message: String) -> HTTPError {
        metrics.mdmRefusal(refusal.reason)
        logger.warning("MDM request refused", metadata: ["reason": "\(refusal.reason)", "udid": "\(udid)"])
        return HTTPError(.badRequest, message: message)
    }
}
