import AsyncHTTPClient
import Foundation
import SCEP

// The direct path of the devsim benchmark: COUNT enrolments with scepops' own SCEP client
// straight at a CA, CONCURRENCY at a time, PKIOperations through the same per-CA gate the
// proxy uses (GATE in flight). Prints {count, failures, wall_ms, p50_ms, p99_ms}.
//   scepops-scep-bench URL CHALLENGE COUNT CONCURRENCY GATE

let arguments = CommandLine.arguments
guard arguments.count == 6, let count = Int(arguments[3]), let concurrency = Int(arguments[4]), let limit = Int(arguments[5]) else {
    FileHandle.standardError.write(Data("usage: scepops-scep-bench URL CHALLENGE COUNT CONCURRENCY GATE\n".utf8))
    exit(2)
}
let url = arguments[1]
let challenge = arguments[2]
let gate = UpstreamGate(limit: limit)
let http = SCEPHTTPClient.makeHTTPClient(connections: concurrency)
let client = SCEPClient(service: GatedSCEPService(SCEPHTTPClient(client: http, url: url, timeout: .seconds(60)), gate: gate, key: url))

let started = Date()
let results = await withTaskGroup(of: Double?.self) { group in
    var next = 0
    func add(_ index: Int) {
        group.addTask {
            let begin = Date()
            let request = SCEPRequest(subject: [.init("CN", "direct-\(index)")], challenge: challenge, keySize: 2048, keyUsage: 5)
            return (try? await client.enroll(request)) == nil ? nil : Date().timeIntervalSince(begin) * 1000
        }
    }
    while next < min(concurrency, count) {
        add(next)
        next += 1
    }
    var all: [Double?] = []
    for await result in group {
        all.append(result)
        if next < count {
            add(next)
            next += 1
        }
    }
    return all
}
let wall = Date().timeIntervalSince(started) * 1000
func shutdown(_ client: HTTPClient) async {
    do { try await client.shutdown() } catch {}
}
await shutdown(http)
let times = results.compactMap { $0 }.sorted()
func percentile(_ fraction: Double) -> Double { times.isEmpty ? 0 : times[Int(Double(times.count - 1) * fraction)] }
print(
    String(
        format: "{\"count\": %d, \"failures\": %d, \"wall_ms\": %.0f, \"p50_ms\": %.1f, \"p99_ms\": %.1f}", count,
        results.count - times.count, wall, percentile(0.5), percentile(0.99)))
