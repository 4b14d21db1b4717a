import Foundation
import SCEPOpsCore

/// A real micromdm `scepserver` (Debian package `scep`) on a free loopback port, with
/// its own CA in a temp folder. Stopped, and its process reaped, when released.
public final class SCEPServer: @unchecked Sendable {
    public let port: Int
    public private(set) var challenge: String
    public var url: String { "http://127.0.0.1:\(port)/scep" }
    /// The CA certificate (PEM) this server issues from.
    public var caCertificatePath: String { folder.path + "/depot/ca.pem" }
    private let folder: TempRepo
    private var process: Process?
    /// While stopped, a bound socket that keeps the port: connections are refused, and no
    /// other test's server can take the port before a restart.
    private var portHolder: Int32?
    private let allowRenew: Int?
    private let validDays: Int?

    /// `validDays`: the validity of what it issues (`-crtvalid`; scepserver's default is 365).
    public init(challenge: String = "scep-test-challenge", allowRenew: Int? = 0, validDays: Int? = nil) throws {
        folder = TempRepo()
        self.challenge = challenge
        self.allowRenew = allowRenew
        self.validDays = validDays
        let initialise = Command.run(
            "/usr/bin/scepserver", ["ca", "-init", "-keySize", "2048", "-depot", folder.path + "/depot"])
        guard initialise.status == 0 else { throw Failure(message: "scepserver ca -init failed: \(initialise.stderr)") }
        port = try FreePort.pick()
        try start()
    }

    /// `init` for async code: the CA's key and the readiness polls block, so they run off
    /// the cooperative threads (`Blocking`).
    public static func started(challenge: String = "scep-test-challenge", allowRenew: Int? = 0, validDays: Int? = nil)
        async throws -> SCEPServer
    {
        try await Blocking.run { try SCEPServer(challenge: challenge, allowRenew: allowRenew, validDays: validDays) }
    }

    /// `restart` for async code, off the cooperative threads.
    public func restart(challenge: String? = nil) async throws {
        try await Blocking.run { try self.restart(challenge: challenge) }
    }

    /// Stops the server if it runs and starts it again on the same port and CA, with
    /// `challenge` when given (a CA whose challenge was rotated).
    public func restart(challenge: String? = nil) throws {
        stop()
        if let portHolder { close(portHolder) }
        portHolder = nil
        if let challenge { self.challenge = challenge }
        try start()
    }

    private func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/scepserver")
        var arguments = ["-port", String(port), "-challenge", challenge, "-depot", folder.path + "/depot"]
        if let allowRenew { arguments += ["-allowrenew", String(allowRenew)] }
        if let validDays { arguments += ["-crtvalid", String(validDays)] }
        process.arguments = arguments
        if !FileManager.default.fileExists(atPath: folder.path + "/scepserver.log") {
            _ = FileManager.default.createFile(atPath: folder.path + "/scepserver.log", contents: nil)
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: folder.path + "/scepserver.log"))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
        try waitUntilReady()
    }

    deinit {
        stop()
        if let portHolder { close(portHolder) }
    }

    /// How many requests of an operation (GetCACaps, GetCACert, PKIOperation) the server
    /// has answered, from its own log.
    public func count(_ operation: String) -> Int {
        let log = (try? String(contentsOfFile: folder.path + "/scepserver.log", encoding: .utf8)) ?? ""
        return log.split(separator: "\n").count { $0.contains("endpoint.go") && $0.contains("op=\(operation) ") }
    }

    public func stop() {
        guard let process, process.isRunning else { return }
        // SIGKILL cannot be blocked: no dependence on the inherited signal mask (trap 3).
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        portHolder = try? Loopback.socket(listening: false, port: port).descriptor
    }

    private func waitUntilReady() throws {
        for _ in 0..<100 {
            if Self.get("\(url)?operation=GetCACaps") != nil { return }
            usleep(50_000)
        }
        stop()
        throw Failure(message: "scepserver did not answer on port \(port)")
    }

    /// A plain blocking GET over loopback, for readiness only.
    static func get(_ url: String) -> Data? {
        let result = Command.run("/usr/bin/curl", ["-sf", "--max-time", "2", url])
        return result.status == 0 ? Data(result.stdout.utf8) : nil
    }

    public struct Failure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }

        public init(message: String) {
            self.message = message
        }
    }
}

/// A TCP socket bound to 127.0.0.1 on a port the kernel picks.
enum Loopback {
    /// The descriptor (listening when asked) and its port; the caller closes it.
    static func socket(listening: Bool, port: Int = 0) throws -> (descriptor: Int32, port: Int) {
        let descriptor = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw SCEPServer.Failure(message: "socket() failed") }
        var reuse: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && (!listening || listen(descriptor, 16) == 0)
                    && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard ok else {
            close(descriptor)
            throw SCEPServer.Failure(message: "cannot bind a loopback socket")
        }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on right now, as the kernel picks it.
public enum FreePort {
    public static func pick() throws -> Int {
        let (descriptor, port) = try Loopback.socket(listening: false)
        close(descriptor)
        return port
    }
}

/// A loopback listener that accepts connections and never answers: an upstream that
/// hangs, for timeout tests. Closed when released.
public final class SilentListener: @unchecked Sendable {
    public let port: Int
    private let descriptor: Int32

    public init() throws {
        (descriptor, port) = try Loopback.socket(listening: true)
    }

    deinit {
        close(descriptor)
    }
}
