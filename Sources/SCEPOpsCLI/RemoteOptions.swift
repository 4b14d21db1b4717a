import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import SCEPOpsCore
import SCEPOpsServer

/// Remote mode: the command runs against a server's admin API with a bearer token, and
/// needs no database and no key.
struct RemoteOptions: ParsableArguments {
    @Option(help: "The admin API of a scepops server, e.g. https://scepops.internal:8443 (default: $SCEPOPS_SERVER). The token comes from $SCEPOPS_TOKEN.")
    var server: String?

    @Option(help: "PEM file of a private CA that signed the server's certificate (default: $SCEPOPS_SERVER_CA).")
    var serverCA: String?

    var url: String? { server ?? ProcessInfo.processInfo.environment["SCEPOPS_SERVER"].flatMap { $0.isEmpty ? nil : $0 } }

    /// GETs `path` from the admin API; the body, or an error said plainly and exit 1.
    /// GETs `path` with `query` (each value percent-encoded, nil ones left out).
    func get(_ path: String, query: KeyValuePairs<String, String?>) async throws -> String {
        let encoded = query.compactMap { key, value in
            value.map { "\(key)=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }
        }
        return try await get(encoded.isEmpty ? path : path + "?" + encoded.joined(separator: "&"))
    }

    func get(_ path: String) async throws -> String {
        let (status, body) = try await send(.GET, path, body: nil)
        guard status == 200 else { try Self.fail(status, body) }
        return String(decoding: body, as: UTF8.self)
    }

    /// POSTs `call` with the config it carries, framed (`AdminWire.Framed`); the answer
    /// decoded when the status is one of `accepted`.
    func post<Answer: Decodable, Call: AdminWire.CarriesConfig>(
        _ path: String, _ call: Call, config: UnvalidatedConfig, accepted: Set<Int> = [200], as: Answer.Type
    ) async throws -> Answer {
        let (status, body) = try await send(.POST, path, body: AdminWire.Framed.encode(call, config))
        guard accepted.contains(status) else { try Self.fail(status, body) }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: body) else {
            Output.error("error: the server's answer to \(path) is not what this scepops expects (is it the same version?)")
            throw ExitStatus.failure
        }
        return answer
    }

    private func send(_ method: HTTPMethod, _ path: String, body: Data?) async throws -> (Int, Data) {
        guard let base = url, let parsed = URL(string: base), ["http", "https"].contains(parsed.scheme ?? "") else {
            Output.error("error: --server must be an http(s) URL of the admin API")
            throw ExitStatus.failure
        }
        guard let token = ProcessInfo.processInfo.environment["SCEPOPS_TOKEN"], !token.isEmpty else {
            Output.error("error: remote mode takes its token from $SCEPOPS_TOKEN (`scepops token create` on the server's state)")
            throw ExitStatus.failure
        }
        let client = try makeClient()
        defer { Task { [client] in try? await client.shutdown() } }
        var request = HTTPClientRequest(url: base.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: AdminWire.Framed.contentType)
            request.body = .bytes(ByteBuffer(data: body))
        }
        do {
            // A plan that checks a slow CA, or an apply that waits for the lock, takes a while.
            let response = try await client.execute(request, timeout: .seconds(900))
            return (Int(response.status.code), Data(buffer: try await response.body.collect(upTo: 256 << 20)))
        } catch {
            Output.error("error: the server \(base) cannot be reached: \(error)")
            throw ExitStatus.failure
        }
    }

    /// An error answer said as local mode would say it.
    private static func fail(_ status: Int, _ body: Data) throws -> Never {
        let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any]
        let detail = json?["error"] as? [String: Any]
        let message = detail?["message"] as? String ?? "the server answered HTTP \(status)"
        // Nothing of that name: the words local mode uses.
        Output.error(status == 404 ? "error: \(message)" : "error[\(detail?["code"] as? String ?? "http-\(status)")]: \(message)")
        throw ExitStatus.failure
    }

    private func makeClient() throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let file = serverCA ?? ProcessInfo.processInfo.environment["SCEPOPS_SERVER_CA"] {
            guard let roots = try? NIOSSLCertificate.fromPEMFile(file), !roots.isEmpty else {
                Output.error("error: --server-ca \(file) holds no PEM certificate")
                throw ExitStatus.failure
            }
            tls.trustRoots = .certificates(roots)
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}
