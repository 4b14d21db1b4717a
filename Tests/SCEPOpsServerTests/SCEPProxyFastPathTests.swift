import Foundation
import SCEPOpsCore
import SCEPOpsTestSupport
import Testing

/// GetCACaps and GetCACert answered on the event loop once the CA's answer is kept
/// (SCEPProxyFastPath): the same answer as through Hummingbird, the same check against the
/// state, HTTP/1's order and connection handling kept.
@Suite("Proxy answers kept on the event loop")
struct SCEPProxyFastPathTests {
    /// A GET of `target` on a connection of its own.
    static func get(_ target: String, version: String = "HTTP/1.1", headers: String = "") -> String {
        "GET \(target) \(version)\r\nHost: 127.0.0.1\r\n\(headers)\r\n"
    }

    @Test func aKeptAnswerIsTheAnswerHummingbirdGaveAndTheStateIsStillAsked() async throws {
        try await ProxyHarness.with { harness in
            let identifier = try await harness.wifi()
            // The first asks the CA through Hummingbird; the second is answered from what was kept.
            let asked = try await harness.request(harness.url(identifier.pathComponent) + "?operation=GetCACert")
            let kept = try await harness.request(harness.url(identifier.pathComponent) + "?operation=GetCACert")
            #expect(harness.scep.count("GetCACert") == 1)
            #expect(kept.status == 200)
            #expect(kept.body == asked.body && !kept.body.isEmpty)
            for name in ["content-type", "content-length", "server"] {
                #expect(kept.headers[name] != nil && kept.headers[name] == asked.headers[name], "\(name): \(kept.headers)")
            }
            #expect(kept.headers["date"]?.hasSuffix(" GMT") == true, "\(kept.headers)")

            // A host that left the team, asking for the same kept answer: refused by the state.
            try await harness.store.enroll(host: "HOST-2", serial: nil, team: "Workstations")
            let leaver = try await harness.wifi(host: "HOST-2")
            try await harness.store.enroll(host: "HOST-2", serial: nil, team: "Kiosks")
            let refused = try await harness.request(harness.url(leaver.pathComponent) + "?operation=GetCACert")
            #expect(refused.status == 403)
            var unknown = identifier
            unknown.host = "NO-SUCH-HOST"
            #expect(try await harness.request(harness.url(unknown.pathComponent) + "?operation=GetCACert").status == 404)
            #expect(harness.scep.count("GetCACert") == 1)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInTheOrderTheyCame() async throws {
        try await ProxyHarness.with { harness in
            let identifier = try await harness.wifi()
            let caps = harness.url(identifier.pathComponent).replacingOccurrences(of: "http://127.0.0.1:\(harness.port)", with: "")
                + "?operation=GetCACaps"
            _ = try await harness.request("http://127.0.0.1:\(harness.port)" + caps)
            // /healthz goes through Hummingbird; the kept answer after it must wait for it.
            let connection = try RawConnection(port: harness.port, receiveTimeout: 30)
            connection.send(Self.get("/healthz") + Self.get(caps) + Self.get("/healthz"))
            let text = await connection.read { $0.components(separatedBy: "HTTP/1.1 ").count == 4 && $0.hasSuffix("ok\n") }
            let health = text.range(of: "\r\n\r\nok\n")
            let answer = text.range(of: "POSTPKIOperation")
            let second = text.range(of: "\r\n\r\nok\n", range: (answer?.upperBound ?? text.startIndex)..<text.endIndex)
            #expect(health != nil && answer != nil && second != nil, "\(text)")
            if let health, let answer { #expect(health.lowerBound < answer.lowerBound, "\(text)") }
            #expect(text.components(separatedBy: "HTTP/1.1 200 OK").count == 4, "\(text)")
        }
    }

    @Test func aRequestThatAsksForCloseIsAnsweredAndTheConnectionClosed() async throws {
        try await ProxyHarness.with { harness in
            let identifier = try await harness.wifi()
            let caps = "/mdm/scep/proxy/\(identifier.pathComponent)?operation=GetCACaps"
            _ = try await harness.request("http://127.0.0.1:\(harness.port)" + caps)
            for (version, headers) in [("HTTP/1.1", "Connection: close\r\n"), ("HTTP/1.0", "")] {
                let connection = try RawConnection(port: harness.port, receiveTimeout: 5)
                // What follows a closing request is not answered.
                connection.send(Self.get(caps, version: version, headers: headers) + Self.get(caps))
                let (text, ending) = await connection.readAll()
                #expect(ending == .closed, "\(version)")
                // One response, the answer, saying that it closes.
                #expect(text.components(separatedBy: "HTTP/1.1 ").count == 2, "\(version): \(text)")
                #expect(text.hasPrefix("HTTP/1.1 200 OK") && text.hasSuffix("POSTPKIOperation"), "\(version): \(text)")
                let head = text.components(separatedBy: "\r\n\r\n")[0].lowercased()
                #expect(head.contains("\r\nconnection: close"), "\(version): \(text)")
            }
        }
    }

    @Test func keptAnswersKeepAConnectionFromIdlingAndAnIdleOneIsStillClosed() async throws {
        try await ProxyHarness.with(configure: { $0.idleTimeout = .seconds(2) }) { harness in
            let identifier = try await harness.wifi()
            let caps = "/mdm/scep/proxy/\(identifier.pathComponent)?operation=GetCACaps"
            _ = try await harness.request("http://127.0.0.1:\(harness.port)" + caps)
            let connection = try RawConnection(port: harness.port, receiveTimeout: 30)
            // Eight requests 0.5 s apart: over 4 s on the connection, never 2 s without one.
            // On a thread of their own: Swift's cooperative threads, busy with other tests,
            // have paused for seconds, which would stretch a gap past the timeout.
            let answers = await Blocking.run { () -> [String] in
                var answers: [String] = []
                for _ in 0..<8 {
                    guard connection.send(Self.get(caps)) else { break }
                    answers.append(connection.receive { $0.hasSuffix("POSTPKIOperation") })
                    guard answers.last!.hasSuffix("POSTPKIOperation") else { break }
                    usleep(500_000)
                }
                return answers
            }
            #expect(answers.count == 8 && answers.allSatisfy { $0.hasSuffix("POSTPKIOperation") }, "\(answers)")
            // Then idle: closed by the server, before the read's 30 s are up.
            #expect(await connection.readAll().ending == .closed)
        }
    }
}
