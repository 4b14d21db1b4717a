/// One value of an XML property list, with the byte offset it was written at, so that every
/// profile diagnostic can name a line (`SourcePosition(offset:in:)` counts it then).
public struct PlistNode: Sendable, Hashable {
    public enum Value: Sendable, Hashable {
        case dictionary([PlistEntry])
        case array([PlistNode])
        case string(String)
        case integer(Int64)
        case real(Double)
        case bool(Bool)
        case date(String)
        case data([UInt8])
    }

    public var value: Value
    /// Where the value's element starts in the document's bytes.
    public var offset: Int

    public init(_ value: Value, at offset: Int) {
        self.value = value
        self.offset = offset
    }
}

/// A key and its value inside a `<dict>`; entries keep their written order.
public struct PlistEntry: Sendable, Hashable {
    public var key: String
    public var keyOffset: Int
    public var value: PlistNode
}

extension PlistNode {
    public var string: String? {
        if case .string(let s) = value { return s }
        return nil
    }

    public var integer: Int64? {
        if case .integer(let i) = value { return i }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let b) = value { return b }
        return nil
    }

    public var data: [UInt8]? {
        if case .data(let d) = value { return d }
        return nil
    }

    public var entries: [PlistEntry]? {
        if case .dictionary(let entries) = value { return entries }
        return nil
    }

    public var elements: [PlistNode]? {
        if case .array(let elements) = value { return elements }
        return nil
    }

    /// The entry for `key` in a dictionary (the first, should the file repeat a key).
    public func entry(_ key: String) -> PlistEntry? {
        entries?.first { $0.key == key }
    }

    public subscript(key: String) -> PlistNode? {
        entry(key)?.value
    }

    /// The name of the node's type as written in XML, for messages.
    public var typeName: String {
        switch value {
        case .dictionary: "dict"
        case .array: "array"
        case .string: "string"
        case .integer: "integer"
        case .real: "real"
        case .bool: "boolean"
        case .date: "date"
        case .data: "data"
        }
    }
}
