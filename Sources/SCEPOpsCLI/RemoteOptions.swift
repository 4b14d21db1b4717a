import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL

/// Remote mode: the command runs against a server's admin API with a bearer token, and
/// needs no database and no key.
struct RemoteOptions: ParsableArguments {
    @Option(help: "The admin API of a scepops server, e.g. https://scepops.internal:8443 (default: $SCEPOPS_SERVER). The token comes from $SCEPOPS_TOKEN.")
    var server: String?

    @Option(help: "PEM file of a private CA that signed the server's certificate (default: $SCEPOPS_SERVER_CA).")
    var serverCA: String?

    var url: String? { server ?? ProcessInfo.processInfo.environment["SCEPOPS_SERVER"].flatMap { $0.isEmpty ? nil : $0 } }

    /// GETs `path` from the admin API; the body, or an error said plainly and exit 1.
    func get(_ path: String) async throws -> String {
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
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let body: String
        let status: Int
        do {
            let response = try await client.execute(request, timeout: .seconds(60))
            status = Int(response.status.code)
            body = String(buffer: try await response.body.collect(upTo: 64 << 20))
        } catch {
            Output.error("error: the server \(base) cannot be reached: \(error)")
            throw ExitStatus.failure
        }
        guard status == 200 else {
            let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
            let detail = json?["error"] as? [String: Any]
            let message = detail?["message"] as? String ?? "the server answered HTTP \(status)"
            // Nothing of that name: the words local mode uses.
            Output.error(status == 404 ? "error: \(message)" : "error[\(detail?["code"] as? String ?? "http-\(status)")]: \(message)")
            throw ExitStatus.failure
        }
        return body
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
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }
}
