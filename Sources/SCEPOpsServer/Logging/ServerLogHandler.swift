import Foundation
import Logging
import SCEPOpsCore

/// serve's log handler: one line per event on standard error, as text
/// (`2026-12-04T10:00:00.123Z info scepops.proxy: enrolled host=C02… profile=…`) or as a JSON
/// object with `time`, `level`, `label`, `message` and the metadata as string fields. Lines
/// are written whole under a lock, so concurrent requests never interleave.
public struct ServerLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String
    let format: LogFormat
    let sink: LogSink

    public init(label: String, level: Logger.Level, format: LogFormat, sink: LogSink = .standardError) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let level = Self.level(of: event)
        guard level >= logLevel else { return }
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        let time = Self.timestamp(Date())
        let line: String
        switch format {
        case .text:
            let pairs = fields.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.quoted("\($0.value)"))" }
            line = ([time, level.rawValue, "\(label):", Self.printable(event.message.description)] + pairs)
                .joined(separator: " ")
        case .json:
            var object: [String: String] = fields.mapValues { "\($0)" }
            object["time"] = time
            object["level"] = level.rawValue
            object["label"] = label
            object["message"] = event.message.description
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            line = String(decoding: data, as: UTF8.self)
        }
        sink.write(line + "\n")
    }

    /// Hummingbird logs a listener cancelled at shutdown as an error ("Waiting on child
    /// channel: CancellationError()"); stopping is not a failure, so it is debug here.
    static func level(of event: LogEvent) -> Logger.Level {
        let message = event.message.description
        if event.level == .error, message.hasPrefix("Waiting on child channel:"), message.contains("CancellationError") { return .debug }
        return event.level
    }

    /// A value with spaces or quotes goes in quotes; control characters (a serial an
    /// attacker chose) are escaped so one event stays one line.
    static func quoted(_ value: String) -> String {
        let printable = printable(value)
        guard printable.isEmpty || printable.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) else { return printable }
        return "\"" + printable.replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func printable(_ value: String) -> String {
        guard ControlCharacters.present(in: value.utf8) else { return value }
        return String(
            value.unicodeScalars.map { scalar in
                ControlCharacters.isControl(scalar)
                    ? "\\u{\(String(scalar.value, radix: 16))}" : String(scalar)
            }.joined())
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

/// Where log lines go: standard error, or (in tests) a buffer.
public final class LogSink: @unchecked Sendable {
    private let lock = NSLock()
    private let handle: FileHandle?
    private var buffer: [String] = []

    init(handle: FileHandle?) { self.handle = handle }

    public static let standardError = LogSink(handle: .standardError)
    public static func memory() -> LogSink { LogSink(handle: nil) }

    func write(_ line: String) {
        lock.withLock {
            if let handle { handle.write(Data(line.utf8)) } else { buffer.append(line) }
        }
    }

    public var lines: [String] { lock.withLock { buffer } }
}
