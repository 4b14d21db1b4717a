/// A secret value (a SCEP challenge, an enroll secret). It prints as a mask, so a stray
/// interpolation, `dump` or debug log cannot leak it; code that needs the value asks for
/// `revealed` by name.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public let revealed: String

    public init(_ value: String) { self.revealed = value }

    public var isEmpty: Bool { revealed.isEmpty }
    public var description: String { "(sensitive value)" }
    public var debugDescription: String { "(sensitive value)" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
