/// A secret value (a SCEP challenge, an enroll secret). It prints as a mask, so a stray
/// interpolation, `dump` or debug log cannot leak it; code that needs the value asks for
/// `revealed` by name.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public let revealed: String
    /// Not read at all (`plan --without-secrets`): its value is unknown, so nothing may be
    /// compared with it or written from it.
    public let isUnchecked: Bool

    public init(_ value: String) {
        revealed = value
        isUnchecked = false
    }

    private init(unchecked: Void) {
        revealed = ""
        isUnchecked = true
    }

    public static let unchecked = Secret(unchecked: ())

    public var isEmpty: Bool { revealed.isEmpty && !isUnchecked }
    public var description: String { "(sensitive value)" }
    public var debugDescription: String { "(sensitive value)" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
