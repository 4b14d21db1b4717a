import NIOCore
import Foundation

/// A listener that cannot start, said in plain words instead of NIO's `bind(descriptor:…)`.
enum ListenFailure {
    static func message(_ error: Error, listen: String, adminListen: String?) -> String? {
        let flag = adminListen.map { "--listen \(listen) or --admin-listen \($0)" } ?? "--listen \(listen)"
        if let error = error as? IOError {
            switch error.errnoCode {
            case EADDRINUSE: return "\(flag): the port is already in use by another process"
            case EADDRNOTAVAIL: return "\(flag): the address is not one of this machine's"
            case EACCES: return "\(flag): not allowed to listen there (ports below 1024 need privileges)"
            default: return nil
            }
        }
        if error is SocketAddressError || error is SocketAddressError.UnknownHost { return "\(flag): the host name cannot be resolved" }
        return nil
    }
}
