/// What changed between two versions of a profile, at payload level: which payload (by
/// PayloadIdentifier) and which key, rather than an XML text diff that key order and
/// white space would clutter.
public enum ProfileDiff {
    public static func fields(before: [UInt8], after: [UInt8]) -> [FieldChange] {
        guard let old = try? PlistParser.parse(before), let new = try? PlistParser.parse(after) else {
            return [FieldChange(path: "content", before: "previous version", after: "new version")]
        }
        var changes = compare(flatten(withoutPayloads(old)), flatten(withoutPayloads(new)), prefix: "")

        let oldPayloads = payloads(old)
        let newPayloads = payloads(new)
        for identifier in Set(oldPayloads.keys).union(newPayloads.keys).sorted() {
            switch (oldPayloads[identifier], newPayloads[identifier]) {
            case (let was?, nil):
                changes.append(FieldChange(path: "payload \(identifier)", before: was.type, after: nil))
            case (nil, let now?):
                changes.append(FieldChange(path: "payload \(identifier)", before: nil, after: now.type))
            case (let was?, let now?):
                changes += compare(flatten(was.node), flatten(now.node), prefix: "payload \(identifier): ")
            case (nil, nil):
                break
            }
        }
        return changes
    }

    /// Whether every change is to a PayloadUUID, which tools rewrite on export: worth
    /// telling a reviewer, since the profile is otherwise the same.
    public static func onlyPayloadUUIDs(_ fields: [FieldChange]) -> Bool {
        !fields.isEmpty && fields.allSatisfy { $0.path.hasSuffix("PayloadUUID") }
    }

    private static func withoutPayloads(_ root: PlistNode) -> PlistNode {
        guard let entries = root.entries else { return root }
        return PlistNode(.dictionary(entries.filter { $0.key != "PayloadContent" }), at: root.offset)
    }

    private static func payloads(_ root: PlistNode) -> [String: (type: String, node: PlistNode)] {
        var result: [String: (type: String, node: PlistNode)] = [:]
        for (index, payload) in (root["PayloadContent"]?.elements ?? []).enumerated() {
            let identifier = payload["PayloadIdentifier"]?.string ?? "#\(index + 1)"
            result[identifier] = (payload["PayloadType"]?.string ?? "?", payload)
        }
        return result
    }

    private static func compare(_ old: [String: String], _ new: [String: String], prefix: String) -> [FieldChange] {
        Set(old.keys).union(new.keys).sorted().compactMap { key in
            old[key] == new[key] ? nil : FieldChange(path: prefix + key, before: old[key], after: new[key])
        }
    }

    /// Key paths (`PayloadContent.Subject[0][0][1]`) to printable values.
    static func flatten(_ node: PlistNode) -> [String: String] {
        var result: [String: String] = [:]
        func walk(_ node: PlistNode, _ path: String) {
            switch node.value {
            case .dictionary(let entries):
                for entry in entries { walk(entry.value, path.isEmpty ? entry.key : path + "." + entry.key) }
            case .array(let elements):
                if elements.isEmpty { result[path] = "[]" }
                for (index, element) in elements.enumerated() { walk(element, path + "[\(index)]") }
            case .string(let s): result[path] = "\"\(s)\""
            case .integer(let i): result[path] = String(i)
            case .real(let r): result[path] = String(r)
            case .bool(let b): result[path] = String(b)
            case .date(let d): result[path] = d
            case .data(let bytes): result[path] = "<\(bytes.count) bytes, checksum \(Checksum.fnv1a(bytes))>"
            }
        }
        walk(node, "")
        return result
    }
}

/// A short, stable fingerprint for display (not for security).
enum Checksum {
    static func fnv1a(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
