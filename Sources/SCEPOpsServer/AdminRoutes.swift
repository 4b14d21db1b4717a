import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SCEPOpsCore
import SCEPOpsStore
import Synchronization

/// The admin API, versioned under `/v1`, and `/metrics`: every call carries a bearer token
/// whose role reaches it (`TokenAuthorization`). Failed attempts are counted per client
/// address (`AuthFailureLimit`); an address past the limit gets 429 before its token is
/// even looked up.
final class AdminRoutes: Sendable {
    let store: any StateBackend
    /// The state's key: it digests secrets for plans. It never leaves the server.
    let box: SecretBox
    let metrics: ServerMetrics
    let limit: AuthFailureLimit
    let logger: Logger
    private let failures = Mutex<[String: [Date]]>([:])

    init(store: any StateBackend, box: SecretBox, metrics: ServerMetrics, limit: AuthFailureLimit, logger: Logger) {
        self.store = store
        self.box = box
        self.metrics = metrics
        self.limit = limit
        self.logger = logger
    }

    func add(to router: Router<AdminRequestContext>) {
        router.get("/v1/status") { [self] request, context in
            _ = try await authorize(request, context, .status)
            let status = try await store.status()
            return try respond(request, text: StatusReport.text(status), json: StatusReport.json(status))
        }
        router.get("/v1/history") { [self] request, context in
            _ = try await authorize(request, context, .history)
            let given = request.uri.queryParameters["limit"].map(String.init)
            guard let limit = given.map({ Int($0) }) ?? 20, limit >= 0 else {
                throw AdminError(status: .badRequest, code: .badRequest, message: "limit is a whole number, 0 for all")
            }
            let records = HistoryReport.newest(try await store.applies(), limit: limit)
            return try respond(request, text: HistoryReport.text(records), json: HistoryReport.json(records))
        }
        router.get("/v1/show") { [self] request, context in
            _ = try await authorize(request, context, .show)
            let query = request.uri.queryParameters
            guard let kind = query["kind"].flatMap({ ShowReport.Kind(rawValue: String($0)) }), let name = query["name"] else {
                throw AdminError(status: .badRequest, code: .badRequest, message: "show takes kind=ca|team|profile|host and name=NAME")
            }
            switch try await ShowReport.render(kind, String(name), store: store) {
            case .success(let shown): return try respond(request, text: shown.text, json: shown.json)
            case .failure(let failure): throw AdminError(status: .notFound, code: .notFound, message: failure.message)
            }
        }
        router.get("/v1/hosts") { [self] request, context in
            _ = try await authorize(request, context, .hosts)
            let hosts = HostsReport.filter(try await store.hosts(), team: request.uri.queryParameters["team"].map(String.init))
            return try respond(request, text: HostsReport.text(hosts), json: HostsReport.json(hosts))
        }
        router.get("/v1/certificates") { [self] request, context in
            _ = try await authorize(request, context, .certificates)
            let query = request.uri.queryParameters
            let expiring = query["expiring"].map { DurationText.seconds(String($0)) }
            guard expiring.map({ $0 != nil }) ?? true else {
                throw AdminError(status: .badRequest, code: .badRequest, message: "expiring is a duration such as 30d or 12h")
            }
            let format = query["format"].map(String.init) ?? "json"
            let filter = CertificatesReport.Filter(
                expiring: expiring ?? nil, certificateAuthority: query["ca"].map(String.init), team: query["team"].map(String.init))
            guard let document = CertificatesReport.render(
                try await store.certificates(), status: try await store.status(), filter: filter, format: format, now: Date())
            else { throw AdminError(status: .badRequest, code: .badRequest, message: "format is text, json or csv") }
            let type = ["text": "text/plain; charset=utf-8", "csv": "text/csv; charset=utf-8"][format] ?? "application/json"
            return Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: document)))
        }
        router.post("/v1/plan") { [self] request, context in
            _ = try await authorize(request, context, .plan)
            let call = try await decode(AdminWire.PlanCall.self, request, context)
            let outcome = try await Reconciler(caCheck: Self.bounded(call.caCheck))
                .plan(try config(call.config), store: store, box: box)
            let answer = AdminWire.PlanAnswer(
                plan: outcome.document(bound: !outcome.plan.hasErrors), rendered: PlanReport.render(outcome, call.format))
            return json(.ok, answer)
        }
        router.post("/v1/apply") { [self] request, context in
            let token = try await authorize(request, context, .apply)
            let call = try await decode(AdminWire.ApplyCall.self, request, context)
            let actor = "\(call.actor) (token \(token.name))"
            let host = ProcessInfo.processInfo.hostName
            let lease = Lease(owner: "\(actor)@\(host):\(getpid())", host: host, pid: getpid(), commit: nil,
                ttl: min(max(call.lockTTL, 1), 86_400), wait: min(max(call.lockTimeout, 0), 600))
            let applied = try await Reconciler(caCheck: Self.bounded(call.caCheck)).apply(
                try config(call.config), store: store, box: box,
                options: .init(
                    reviewed: call.reviewed, sameChanges: call.reviewed == nil ? nil : call.sameChanges, allowDestroy: call.allowDestroy,
                    actor: actor, lease: lease))
            let answer = AdminWire.ApplyAnswer(applied)
            if case .applied(let record) = applied.result {
                logger.info("applied", metadata: ["apply": "\(record.id)", "token": "\(token.name)", "commit": "\(record.commit ?? "")"])
            }
            return json(answer.status, answer)
        }
        router.post("/v1/drift") { [self] request, context in
            _ = try await authorize(request, context, .drift)
            var call = try await decode(AdminWire.DriftCall.self, request, context)
            guard call.run.ruleDiagnostics.allSatisfy({ $0.diagnostic() != nil }) else {
                throw AdminError(status: .badRequest, code: .badRequest, message: "a rule diagnostic in the request is malformed")
            }
            call.run.caCheck = Self.bounded(call.run.caCheck)
            let report = try await call.run.report(try config(call.config), store: store, box: box)
            return json(.ok, AdminWire.DriftAnswer(rendered: DriftRun.render(report, call.format), exitCode: report.exitCode))
        }
        // A browser cannot send a bearer header: the page also takes the token as a Basic
        // password (any user name), and asks for it the way browsers understand.
        router.get("/ui") { [self] request, context in
            _ = try await authorize(request, context, .status, challenge: "Basic realm=\"scepops\", charset=\"UTF-8\"")
            let page = StatusPage.html(
                .init(
                    status: try await store.status(), certificates: try await store.certificates(), applies: try await store.applies(),
                    upstreamErrors: metrics.upstreamErrorCounts, now: Date()))
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                    .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
                ],
                body: .init(byteBuffer: ByteBuffer(string: page)))
        }
        router.get("/metrics") { [self] request, context in
            _ = try await authorize(request, context, .status)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
        }
    }

    /// `?format=text` gives what the CLI prints, JSON otherwise: remote mode shows either as is.
    func respond(_ request: Request, text: @autoclosure () -> String, json: @autoclosure () -> String) throws -> Response {
        let format = request.uri.queryParameters["format"].map(String.init)
        guard format == nil || format == "text" || format == "json" else {
            throw AdminError(status: .badRequest, code: .badRequest, message: "format is text or json")
        }
        let isText = format == "text"
        return Response(
            status: .ok, headers: [.contentType: isText ? "text/plain; charset=utf-8" : "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: isText ? text() : json())))
    }

    /// A call's JSON body, within `maximumBody`.
    func decode<Body: AdminWire.CarriesConfig>(_ type: Body.Type, _ request: Request, _ context: AdminRequestContext) async throws -> Body {
        let bytes = try await BoundedBody.collect(request, upTo: Self.maximumBody, timeout: .seconds(120))
        if request.headers[.contentType] == AdminWire.Framed.contentType {
            guard let call = AdminWire.Framed.decode(Body.self, Data(buffer: bytes)) else {
                throw AdminError(status: .badRequest, code: .badRequest, message: "the request body is not a valid framed \(Body.self)")
            }
            return call
        }
        do {
            return try JSONDecoder().decode(Body.self, from: Data(buffer: bytes))
        } catch {
            // The decoder's words can quote the body, and the body holds secrets.
            throw AdminError(status: .badRequest, code: .badRequest, message: "the request body is not a valid \(Body.self) document")
        }
    }

    func config(_ upload: ConfigUpload) throws -> UnvalidatedConfig {
        guard let config = upload.config() else {
            throw AdminError(status: .badRequest, code: .badRequest, message: "the config in the request is malformed")
        }
        return config
    }

    func json(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(data: AdminWire.encode(value))))
    }

    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    /// Each call's one method: another method on its path is 405, not 404.
    static let methods: [String: String] = [
        "/v1/status": "GET", "/v1/history": "GET", "/v1/show": "GET", "/v1/hosts": "GET", "/v1/certificates": "GET",
        "/metrics": "GET", "/ui": "GET",
        "/v1/plan": "POST", "/v1/apply": "POST", "/v1/drift": "POST",
    ]

    /// A config of 10,000 profiles is some tens of MiB as JSON.
    static let maximumBody = 256 << 20

    /// A CA that does not answer holds the call for at most two minutes.
    static func bounded(_ check: Reconciler.CACheck) -> Reconciler.CACheck {
        Reconciler.CACheck(offline: check.offline, timeout: min(max(check.timeout, 1), 120))
    }

    /// The token of a request that may make `call`; an `AdminError` otherwise.
    func authorize(_ request: Request, _ context: AdminRequestContext, _ call: AdminCall, challenge: String = "Bearer") async throws -> APIToken {
        let address = limit.client(
            peer: context.remoteAddress?.ipAddress ?? "unknown", forwardedFor: request.headers[Self.forwardedFor])
        let now = Date()
        if let wait = failures.withLock({ limit.retryAfter($0[address] ?? [], now: now) }) {
            throw AdminError(
                status: .tooManyRequests, code: .rateLimited, message: "too many failed attempts from this address; try again later",
                headers: [.retryAfter: String(Int(wait))])
        }
        let presented = Self.bearer(request.headers[.authorization]) ?? (challenge == "Bearer" ? nil : Self.basicPassword(request.headers[.authorization]))
        var token: APIToken?
        if let presented { token = try await store.useToken(digest: APITokenSecret.digest(presented), now: now) }
        switch TokenAuthorization.decide(presented: presented != nil, token: token, call: call, now: now) {
        case .allowed(let token):
            return token
        case .unauthorized(let reason):
            failures.withLock { failures in
                failures[address] = limit.recent(failures[address] ?? [], now: now) + [now]
                // Many addresses (a spread of IPv6 ones) must not grow this without bound.
                if failures.count > Self.trackedAddresses {
                    failures = failures.filter { !limit.recent($0.value, now: now).isEmpty }
                }
            }
            metrics.adminRefusal(reason.rawValue)
            logger.warning("admin request refused", metadata: ["reason": "\(reason.rawValue)", "client": "\(address)", "call": "\(call.rawValue)"])
            throw AdminError(
                status: .unauthorized, code: .unauthorized, message: "a valid bearer token is required (Authorization: Bearer …)",
                headers: [.wwwAuthenticate: challenge])
        case .forbidden(let role, let call):
            metrics.adminRefusal("forbidden")
            logger.warning("admin request refused", metadata: ["reason": "forbidden", "token": "\(token?.name ?? "")", "call": "\(call.rawValue)"])
            throw AdminError(
                status: .forbidden, code: .forbidden, message: "a \(role.rawValue) token may not call \(call.rawValue)")
        }
    }

    /// The password of an `Authorization: Basic` header (the status page's token); nil otherwise.
    static func basicPassword(_ header: String?) -> String? {
        guard let header, header.count > 6, header.prefix(6).lowercased() == "basic ",
            let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let pair = String(data: decoded, encoding: .utf8), let colon = pair.firstIndex(of: ":")
        else { return nil }
        let password = String(pair[pair.index(after: colon)...])
        return password.isEmpty ? nil : password
    }

    /// Addresses with failures kept before the ones outside the window are dropped.
    static let trackedAddresses = 10_000

    /// The token of an `Authorization: Bearer` header; nil for none or another scheme.
    static func bearer(_ header: String?) -> String? {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
        let token = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}

/// Every admin error as JSON: the API's own, a state that does not answer, and a route that
/// does not exist.
struct AdminErrorMiddleware: RouterMiddleware {
    typealias Context = AdminRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as AdminError {
            return error.response()
        } catch let error as StoreError {
            context.logger.warning("the state is not available", metadata: ["error": "\(error.code.rawValue)"])
            return AdminError(
                status: .serviceUnavailable, code: .stateUnavailable, message: "the state is not available; try again shortly",
                headers: [.retryAfter: "5"]
            ).response()
        } catch let error as HTTPError where error.status == .notFound && AdminRoutes.methods[request.uri.path] != nil {
            return AdminError(
                status: .methodNotAllowed, code: .methodNotAllowed, message: "the call takes \(AdminRoutes.methods[request.uri.path]!)",
                headers: [.allow: AdminRoutes.methods[request.uri.path]!]
            ).response()
        } catch let error as HTTPError {
            // The router's and the body reader's refusals, in the API's own shape.
            let code: AdminError.Code =
                switch error.status {
                case .notFound: .notFound
                case .methodNotAllowed: .methodNotAllowed
                case .contentTooLarge: .tooLarge
                case .requestTimeout: .timeout
                default: .badRequest
                }
            let message =
                switch code {
                case .notFound: "no such call"
                case .methodNotAllowed: "the call takes another method"
                default: error.body ?? "the request is malformed"
                }
            return AdminError(status: error.status, code: code, message: message, headers: error.headers).response()
        }
    }
}
