import Foundation
import SCEPOpsCore

/// A plain TCP connection to 127.0.0.1, for requests no HTTP client would send: absurd
/// lengths, broken chunks, connections that never send a byte. Closed when released.
public final class RawConnection: @unchecked Sendable {
    private let descriptor: Int32

    public init(port: Int, receiveTimeout: TimeInterval = 10) throws {
        descriptor = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw SCEPServer.Failure(message: "socket() failed") }
        var timeout = timeval(tv_sec: Int(receiveTimeout), tv_usec: Int((receiveTimeout.truncatingRemainder(dividingBy: 1)) * 1e6))
        _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else {
            close(descriptor)
            throw SCEPServer.Failure(message: "cannot connect to 127.0.0.1:\(port)")
        }
    }

    deinit { close(descriptor) }

    /// False once the peer has closed its side for writing or reset the connection.
    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    public enum Ending: Sendable, Equatable {
        /// The server closed the connection.
        case closed
        /// Nothing more came within the receive timeout; the connection is still open.
        case timedOut
    }

    /// Everything the server sends until it closes the connection or goes quiet, read on a
    /// thread of its own (`Blocking`): a blocking `recv` must not hold one of the few threads
    /// that the in-process server's handlers run on.
    public func readAll() async -> (text: String, ending: Ending) {
        await Blocking.run { self.readAllBlocking() }
    }

    /// What the server sends until `done` holds for it (or the connection closes or goes
    /// quiet): a response read as soon as it is whole, however long the server takes.
    public func read(until done: @escaping @Sendable (String) -> Bool) async -> String {
        await Blocking.run { self.receive(until: done) }
    }

    /// `read(until:)` on the calling thread, for a test's own thread.
    public func receive(until done: (String) -> Bool) -> String {
        readAllBlocking(until: done).text
    }

    private func readAllBlocking(until done: (String) -> Bool = { _ in false }) -> (text: String, ending: Ending) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count > 0 {
                received += buffer[0..<count]
                if done(String(decoding: received, as: UTF8.self)) { return (String(decoding: received, as: UTF8.self), .timedOut) }
                continue
            }
            // A signal is not the end (a debugger attaching sends one).
            if count < 0 && errno == EINTR { continue }
            let ending: Ending = count == 0 || errno == ECONNRESET ? .closed : .timedOut
            return (String(decoding: received, as: UTF8.self), ending)
        }
    }
}
