import AsyncHTTPClient
import Foundation
import NIOCore
import SCEPOpsCore
import SCEPOpsTestSupport
import Testing

/// The proxy and the server under attack and faults: forged and replayed tokens, a CA
/// that fails after a token was spent, a foreign write lock, hostile bodies, idle floods.
@Suite("Server hardening", .serialized)
struct ProxyHardeningTests {
    /// micromdm's scepclient through the proxy URL; returns its exit status.
    static func enroll(_ harness: ProxyHarness, _ identifier: ProxyIdentifier, in work: TempRepo) async -> Command.Result {
        await Command.run(
            "/usr/bin/scepclient",
            ["-server-url", harness.url(identifier.pathComponent), "-challenge", harness.scep.challenge,
                "-private-key", work.path + "/key.pem", "-certificate", work.path + "/cert.pem", "-cn", "HOST-1 Wi-Fi"])
    }

    func delivery(_ harness: ProxyHarness) async throws -> [DeliveryStatus: Int] {
        try await harness.store.status().profiles.first { $0.team == "Workstations" && $0.identifier == "com.example.wifi" }!.hostProfiles
    }

    @Test(arguments: TestBackend.all)
    func aForgedTokenChangesNothingAndTheGenuineOneStillEnrolls(_ backend: TestBackend) async throws {
        try await ProxyHarness.with(backend: backend) { harness in
            let genuine = try await harness.wifi()
            var forged = genuine
            forged.token = "forged"
            for _ in 0..<3 {
                let answer = try await harness.request(
                    harness.url(forged.pathComponent) + "?operation=PKIOperation", method: .POST, body: [0x30, 0x03, 1, 2, 3])
                #expect(answer.status == 403)
            }
            #expect(try await delivery(harness)[.sent] == 1, "a forged request must not touch the delivery")
            #expect(harness.scep.count("PKIOperation") == 0)
            let work = TempRepo()
            let enrolled = await Self.enroll(harness, genuine, in: work)
            #expect(enrolled.status == 0, "\(enrolled.stdout)\(enrolled.stderr)")
            #expect(FileManager.default.fileExists(atPath: work.path + "/cert.pem"))
            let metrics = try await harness.request("http://127.0.0.1:\(harness.port)/metrics")
            #expect(metrics.text.contains(#"scepops_proxy_refusals_total{reason="token_rejected"} 3"#), "\(metrics.text)")
        }
    }

    @Test(arguments: TestBackend.all)
    func aCAFailureAfterTheTokenWasSpentRedeliversWithAFreshTokenAndTheHostGetsItsCertificate(_ backend: TestBackend) async throws {
        try await ProxyHarness.with(backend: backend, configure: { $0.redelivery = RedeliveryPolicy(backoff: 0) }) { harness in
            let first = try await harness.wifi()
            harness.scep.stop()
            let failed = try await harness.request(
                harness.url(first.pathComponent) + "?operation=PKIOperation", method: .POST, body: [0x30, 0x03, 1, 2, 3])
            #expect(failed.status == 502)
            // Pending again, and with a command queued for it: it cannot be stranded.
            #expect(try await delivery(harness)[.pending] == 1)
            let queued = try await harness.store.queuedCommands(host: ProxyHarness.host).filter {
                $0.type == .installProfile && $0.profile == first.profile
            }
            #expect(queued.count == 1)
            #expect(queued.first?.commandUUID == nil, "the re-delivery waits for the worker")

            try await harness.scep.restart()
            let second = try await harness.wifi()
            #expect(second.token != first.token)
            let work = TempRepo()
            let enrolled = await Self.enroll(harness, second, in: work)
            #expect(enrolled.status == 0, "\(enrolled.stdout)\(enrolled.stderr)")
            let subject = await Command.run("/usr/bin/openssl", ["x509", "-in", work.path + "/cert.pem", "-noout", "-subject"])
            #expect(subject.stdout.contains("CN = HOST-1 Wi-Fi"))
            // The spent token stays spent.
            let replay = try await harness.request(
                harness.url(first.pathComponent) + "?operation=PKIOperation", method: .POST, body: [0x30, 0x03, 1, 2, 3])
            #expect(replay.status == 403)
        }
    }

    @Test(arguments: TestBackend.all)
    func redeliveriesAreBoundedThenTheDeliveryFailsWithTheReason(_ backend: TestBackend) async throws {
        try await ProxyHarness.with(backend: backend, configure: { $0.redelivery = RedeliveryPolicy(maximumRedeliveries: 2, backoff: 0) }) { harness in
            harness.scep.stop()
            for attempt in 1...3 {
                let identifier = try await harness.wifi()
                let answer = try await harness.request(
                    harness.url(identifier.pathComponent) + "?operation=PKIOperation", method: .POST, body: [0x30, 0x03, 1, 2, 3])
                #expect(answer.status == 502, "attempt \(attempt)")
            }
            #expect(try await delivery(harness)[.failed] == 1)
            let detail = try await harness.store.hostObservations().failed.first?.detail ?? ""
            #expect(detail.contains("could not complete the enrollment"), "\(detail)")
            #expect(detail.contains("given up after 2 re-deliveries"))
            let wifi = try await harness.profileUUID("com.example.wifi")
            #expect(try await harness.render()[wifi] == nil, "nothing more is queued")
        }
    }

    @Test func underAForeignWriteLockRequestsGet503WithRetryAfterAndTheTokenSurvives() async throws {
        try await ProxyHarness.with { harness in
            let identifier = try await harness.wifi()
            let lock = try Command.start(
                "/usr/bin/sqlite3", [harness.folder.path + "/state.db", "BEGIN IMMEDIATE;", ".shell sleep 8", "COMMIT;"])
            defer { lock.kill() }
            try await Task.sleep(for: .milliseconds(500))
            let started = ContinuousClock.now
            let busy = try await harness.request(
                harness.url(identifier.pathComponent) + "?operation=PKIOperation", method: .POST, body: [0x30, 0x03, 1, 2, 3])
            #expect(busy.status == 503, "\(busy.text)")
            #expect(ContinuousClock.now - started < .seconds(8))
            #expect(harness.scep.count("PKIOperation") == 0)
            #expect(await lock.wait().status == 0)
            // Nothing was consumed: the device's token still enrolls.
            let enrolled = await Self.enroll(harness, identifier, in: TempRepo())
            #expect(enrolled.status == 0, "\(enrolled.stdout)\(enrolled.stderr)")
        }
    }

    @Test func underAForeignWriteLockMDMReportsGet503() async throws {
        try await ProxyHarness.with(mdm: true) { harness in
            let device = PlistDevice(
                udid: "UDID-L", identity: try await DeviceIdentity.issued(from: harness.identityCA!, commonName: "UDID-L"), harness: harness)
            #expect(try await device.authenticate(enrollSecret: ValidRepo.environment["WS_SECRET"]!).status == 200)
            try await harness.render(host: "UDID-L")
            let lock = try Command.start(
                "/usr/bin/sqlite3", [harness.folder.path + "/state.db", "BEGIN IMMEDIATE;", ".shell sleep 14", "COMMIT;"])
            defer { lock.kill() }
            try await Task.sleep(for: .milliseconds(500))
            // A queued command makes Idle write (it marks the command sent): busy, so 503.
            #expect(try await device.report("Idle").status == 503)
            #expect(try await device.report("Acknowledged", "any-command").status == 503)
            #expect(await lock.wait().status == 0)
            let next = try await device.report("Idle")
            #expect(next.status == 200)
            #expect(next.type == "InstallProfile", "nothing was lost to the busy state")
        }
    }

    @Test func retryAfterComesWithThe503() async throws {
        try await ProxyHarness.with { harness in
            let identifier = try await harness.wifi()
            let lock = try Command.start(
                "/usr/bin/sqlite3", [harness.folder.path + "/state.db", "BEGIN IMMEDIATE;", ".shell sleep 7", "COMMIT;"])
            defer { lock.kill() }
            try await Task.sleep(for: .milliseconds(500))
            let raw = try RawConnection(port: harness.port, receiveTimeout: 20)
            raw.send(
                "POST /mdm/scep/proxy/\(identifier.pathComponent)?operation=PKIOperation HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
            let answer = await raw.readAll().text
            #expect(answer.hasPrefix("HTTP/1.1 503"), "\(answer)")
            #expect(answer.lowercased().contains("retry-after: 5"), "\(answer)")
            _ = await lock.wait()
        }
    }

    @Test func controlCharactersInAnIdentifierAre400() async throws {
        try await ProxyHarness.with { harness in
            let good = try await harness.wifi()
            let before = harness.scep.count("GetCACaps")
            for bad in ["\(good.host)%00x", "\(good.host)%0A", "\(good.host)%7F"] {
                let path = [bad, good.profile, good.certificateAuthority, good.token].joined(separator: "%2C")
                let answer = try await harness.request(harness.url(path) + "?operation=GetCACaps")
                #expect(answer.status == 400, "\(bad): \(answer.status)")
            }
            #expect(harness.scep.count("GetCACaps") == before)
        }
    }

    @Test func hostileBodiesAreRefusedUpFrontAndTheConnectionIsClosed() async throws {
        try await ProxyHarness.with(configure: { $0.bodyTimeout = .seconds(2) }) { harness in
            let identifier = try await harness.wifi()
            let path = "/mdm/scep/proxy/\(identifier.pathComponent)?operation=PKIOperation"
            let head = "POST \(path) HTTP/1.1\r\nHost: x\r\n"

            // A Content-Length of 10^15: 413 before a byte of body, then closed.
            let huge = try RawConnection(port: harness.port)
            huge.send(head + "Content-Length: 1000000000000000\r\n\r\n")
            let hugeAnswer = await huge.readAll()
            #expect(hugeAnswer.text.hasPrefix("HTTP/1.1 413"), "\(hugeAnswer.text)")
            #expect(hugeAnswer.ending == .closed)

            // A malformed chunk: 400, then closed.
            let malformed = try RawConnection(port: harness.port)
            malformed.send(head + "Transfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n")
            let malformedAnswer = await malformed.readAll()
            #expect(malformedAnswer.text.hasPrefix("HTTP/1.1 400"), "\(malformedAnswer.text)")
            #expect(malformedAnswer.ending == .closed)

            // Chunks past the limit: 413 as soon as the limit is passed, then closed (not drained).
            let chunked = try RawConnection(port: harness.port)
            chunked.send(head + "Transfer-Encoding: chunked\r\n\r\n")
            let chunk = "100000\r\n" + String(repeating: "A", count: 0x100000) + "\r\n"
            for _ in 0..<3 { chunked.send(chunk) }
            let chunkedAnswer = await chunked.readAll()
            #expect(chunkedAnswer.text.hasPrefix("HTTP/1.1 413"), "\(chunkedAnswer.text.prefix(100))")
            #expect(chunkedAnswer.ending == .closed)

            // A huge chunk size with a trickle behind it: 408 when the body deadline passes.
            let trickle = try RawConnection(port: harness.port)
            trickle.send(head + "Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFF\r\nabc")
            let trickleAnswer = await trickle.readAll()
            #expect(trickleAnswer.text.hasPrefix("HTTP/1.1 408"), "\(trickleAnswer.text)")
            #expect(trickleAnswer.ending == .closed)

            #expect(harness.scep.count("PKIOperation") == 0)
            #expect(try await delivery(harness)[.sent] == 1, "no refusal consumed the token")
        }
    }

    @Test func idleConnectionsAreClosedAndHealthzKeepsAnswering() async throws {
        try await ProxyHarness.with(configure: {
            $0.idleTimeout = .seconds(1)
            $0.maxConnections = 20
        }) { harness in
            // More idle connections than the server takes at once, none sending a byte.
            let idle = try (0..<40).map { _ in try RawConnection(port: harness.port, receiveTimeout: 5) }
            let started = ContinuousClock.now
            let health = try await harness.request("http://127.0.0.1:\(harness.port)/healthz")
            #expect(health.status == 200)
            #expect(ContinuousClock.now - started < .seconds(15))
            // The ones it accepted were closed for idling, not left open.
            for connection in idle.prefix(5) { #expect(await connection.readAll().ending == .closed) }
            // A half-sent header is closed the same way.
            let slow = try RawConnection(port: harness.port, receiveTimeout: 5)
            slow.send("GET /healthz HTTP/1.1\r\nHost: x\r\n")
            #expect(await slow.readAll().ending == .closed)
        }
    }
}
