import Foundation
import Logging
import SCEPOpsServer
import Testing

/// serve's log lines: one event a line, text or JSON, and a stop that is not an error.
@Suite("Server log lines")
struct ServerLogHandlerTests {
    func logger(_ format: LogFormat, level: Logger.Level = .info) -> (Logger, LogSink) {
        let sink = LogSink.memory()
        return (Logger(label: "scepops.proxy") { ServerLogHandler(label: $0, level: level, format: format, sink: sink) }, sink)
    }

    @Test func textLineHasTimeLevelLabelMessageAndSortedFields() throws {
        let (logger, sink) = logger(.text)
        logger.info("certificate enrolled through the proxy", metadata: ["profile": "P-1", "host": "C02 X"])
        let line = try #require(sink.lines.first)
        let parts = line.split(separator: " ", maxSplits: 2)
        #expect(ISO8601DateFormatter().date(from: String(parts[0]).replacingOccurrences(of: #"\.\d+"#, with: "", options: .regularExpression)) != nil, "\(line)")
        #expect(parts[1] == "info")
        #expect(parts[2] == "scepops.proxy: certificate enrolled through the proxy host=\"C02 X\" profile=P-1\n")
    }

    @Test func jsonLineIsOneObjectWithStringFields() throws {
        let (logger, sink) = logger(.json)
        logger.warning("MDM request refused", metadata: ["reason": "identity_not_bound", "udid": "U-1"])
        let line = try #require(sink.lines.first)
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["level"] == "warning" && object["label"] == "scepops.proxy" && object["message"] == "MDM request refused")
        #expect(object["reason"] == "identity_not_bound" && object["udid"] == "U-1" && object["time"] != nil)
    }

    @Test func aValueAnAttackerChoseStaysOnOneLine() throws {
        let (logger, sink) = logger(.text)
        logger.info("host enrolled", metadata: ["serial": "C02\nfake info line"])
        let line = try #require(sink.lines.first)
        #expect(line.filter { $0 == "\n" }.count == 1, "\(line)")
        #expect(line.contains(#"serial="C02\u{a}fake info line""#), "\(line)")
    }

    @Test func levelFiltersAndAListenerCancelledAtStopIsNotAnError() {
        let (logger, sink) = logger(.text, level: .info)
        logger.debug("idle check-in")
        logger.error("Waiting on child channel: CancellationError()")
        #expect(sink.lines.isEmpty, "\(sink.lines)")
        logger.error("Waiting on child channel: some other failure")
        #expect(sink.lines.count == 1)
        let (verbose, all) = self.logger(.text, level: .trace)
        verbose.error("Waiting on child channel: CancellationError()")
        #expect(all.lines.first?.contains(" debug ") == true)
    }
}
