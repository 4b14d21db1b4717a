/// git's delta format: the sizes of the base and of the result, then instructions that
/// each copy a range of the base or insert bytes the delta carries.
enum GitDelta {
    /// The size of the object the delta makes; nil when its header is malformed.
    static func resultSize(_ delta: [UInt8]) -> Int? {
        var cursor = 0
        guard size(delta, &cursor) != nil else { return nil }
        return size(delta, &cursor)
    }

    /// The object the delta makes from `base`; nil when the delta is malformed, does not
    /// fit the base, or would make more than `limit` bytes.
    static func apply(_ delta: [UInt8], to base: [UInt8], limit: Int) -> [UInt8]? {
        var cursor = 0
        guard size(delta, &cursor) == base.count, let resultSize = size(delta, &cursor), resultSize <= limit else {
            return nil
        }
        var failed = false
        let result = [UInt8](unsafeUninitializedCapacity: resultSize) { output, initialized in
            delta.withUnsafeBufferPointer { delta in
                base.withUnsafeBufferPointer { base in
                    var written = 0
                    while cursor < delta.count {
                        let instruction = Int(delta[cursor])
                        cursor += 1
                        if instruction & 0x80 != 0 {
                            // Copy: bits 0–3 say which bytes of the offset follow, bits 4–6
                            // which of the size; a size of 0 means 64 KiB.
                            var offset = 0
                            var length = 0
                            for bit in 0..<7 where instruction & (1 << bit) != 0 {
                                guard cursor < delta.count else { failed = true; break }
                                let byte = Int(delta[cursor])
                                cursor += 1
                                if bit < 4 { offset |= byte << (8 * bit) } else { length |= byte << (8 * (bit - 4)) }
                            }
                            if length == 0 { length = 0x10000 }
                            guard !failed, offset + length <= base.count, written + length <= resultSize else {
                                failed = true
                                break
                            }
                            (output.baseAddress! + written).initialize(from: base.baseAddress! + offset, count: length)
                            written += length
                        } else if instruction != 0 {
                            // Insert: the instruction is the count of bytes that follow.
                            guard cursor + instruction <= delta.count, written + instruction <= resultSize else {
                                failed = true
                                break
                            }
                            (output.baseAddress! + written).initialize(from: delta.baseAddress! + cursor, count: instruction)
                            cursor += instruction
                            written += instruction
                        } else {
                            failed = true  // reserved
                            break
                        }
                    }
                    if written != resultSize { failed = true }
                    initialized = failed ? 0 : resultSize
                }
            }
        }
        return failed ? nil : result
    }

    /// A little-endian varint of 7 bits a byte.
    private static func size(_ delta: [UInt8], _ cursor: inout Int) -> Int? {
        var value = 0
        var shift = 0
        while cursor < delta.count {
            let byte = Int(delta[cursor])
            cursor += 1
            value |= (byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
            guard shift < 56 else { return nil }
        }
        return nil
    }
}
