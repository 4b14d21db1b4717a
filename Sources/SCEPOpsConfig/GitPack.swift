import CGit2
import CZlib
import Foundation

/// One pack of a repository's object database: its index (version 2) and the pack file,
/// both mapped. Finds where an object is and reads the entry there. It trusts neither
/// file: anything out of bounds or not as git writes it gives nil, and libgit2 reads (or
/// reports) the object instead.
struct GitPack: Sendable {
    /// An object's entry in the pack: a whole object, or a delta against another object.
    struct Entry {
        enum Kind {
            /// Commit 1, tree 2, blob 3 or tag 4; `size` is the object's.
            case object(type: Int)
            /// A delta against the entry at an earlier offset of this pack.
            case offsetDelta(base: Int)
            /// A delta against the object with this id, wherever it is.
            case referenceDelta(base: git_oid)
        }

        var kind: Kind
        /// The size of what the zlib stream inflates to: the object, or the delta.
        var size: Int
        /// Where the zlib stream starts.
        var dataOffset: Int
    }

    static let blobType = 3

    private static let indexMagic: UInt32 = 0xff74_4f63  // "\377tOc"
    private static let packMagic: UInt32 = 0x5041_434b  // "PACK"
    private static let idSize = 20
    /// The pack ends with the SHA-1 of everything before it.
    private static let trailerSize = 20

    private let index: MappedFile
    private let pack: MappedFile
    private let count: Int
    private let idsOffset: Int
    private let offsetsOffset: Int
    private let largeOffsetsOffset: Int

    init?(index indexPath: String, pack packPath: String) {
        guard let index = MappedFile(path: indexPath), let pack = MappedFile(path: packPath) else { return nil }
        // Version 2: magic, version, 256 fan-out counts, then per object its id, CRC and
        // 32-bit offset, then the 64-bit offsets, then two ids of trailer.
        guard index.count >= 8 + 1024 + 2 * Self.idSize, index.uint32(at: 0) == Self.indexMagic,
            index.uint32(at: 4) == 2
        else { return nil }
        let count = Int(index.uint32(at: 8 + 255 * 4))
        let idsOffset = 8 + 1024
        let offsetsOffset = idsOffset + count * (Self.idSize + 4)
        let largeOffsetsOffset = offsetsOffset + count * 4
        guard largeOffsetsOffset + 2 * Self.idSize <= index.count else { return nil }
        guard pack.count >= 12 + Self.trailerSize, pack.uint32(at: 0) == Self.packMagic,
            [2, 3].contains(pack.uint32(at: 4)), Int(pack.uint32(at: 8)) == count
        else { return nil }
        self.index = index
        self.pack = pack
        self.count = count
        self.idsOffset = idsOffset
        self.offsetsOffset = offsetsOffset
        self.largeOffsetsOffset = largeOffsetsOffset
    }

    /// Where the object is in the pack, or nil when this pack does not hold it.
    func offset(of id: git_oid) -> Int? {
        var id = id
        return withUnsafeBytes(of: &id.id) { key -> Int? in
            let first = Int(key[0])
            var low = first == 0 ? 0 : Int(index.uint32(at: 8 + (first - 1) * 4))
            var high = Int(index.uint32(at: 8 + first * 4))
            guard low <= high, high <= count else { return nil }
            while low < high {
                let middle = (low + high) / 2
                let order = memcmp(index.bytes.baseAddress! + idsOffset + middle * Self.idSize, key.baseAddress!, Self.idSize)
                if order == 0 { return packOffset(middle) }
                if order < 0 { low = middle + 1 } else { high = middle }
            }
            return nil
        }
    }

    /// The offset of the `position`th object of the index: 31 bits, or with the top bit
    /// set, the number of an entry in the table of 64-bit offsets.
    private func packOffset(_ position: Int) -> Int? {
        let small = index.uint32(at: offsetsOffset + position * 4)
        var offset = Int(small)
        if small & 0x8000_0000 != 0 {
            let entry = largeOffsetsOffset + Int(small & 0x7fff_ffff) * 8
            guard entry + 8 <= index.count - 2 * Self.idSize else { return nil }
            let large = index.uint64(at: entry)
            guard large < UInt64(Int.max) else { return nil }
            offset = Int(large)
        }
        return offset >= 12 && offset < pack.count - Self.trailerSize ? offset : nil
    }

    /// The entry at `offset`: its type and size, a varint after the type's three bits, and
    /// for a delta where its base is.
    func entry(at offset: Int) -> Entry? {
        let end = pack.count - Self.trailerSize
        var cursor = offset
        func next() -> Int? {
            guard cursor < end else { return nil }
            defer { cursor += 1 }
            return Int(pack.bytes[cursor])
        }
        guard var byte = next() else { return nil }
        let type = (byte >> 4) & 7
        var size = byte & 0x0f
        var shift = 4
        while byte & 0x80 != 0 {
            guard shift < 56, let following = next() else { return nil }
            byte = following
            size |= (byte & 0x7f) << shift
            shift += 7
        }
        switch type {
        case 1...4:
            return Entry(kind: .object(type: type), size: size, dataOffset: cursor)
        case 6:
            // The distance back to the base, a big-endian varint where each continuation
            // adds one (so that no distance has two spellings).
            guard var byte = next() else { return nil }
            var distance = byte & 0x7f
            while byte & 0x80 != 0 {
                guard distance < Int.max >> 8, let following = next() else { return nil }
                byte = following
                distance = ((distance + 1) << 7) | (byte & 0x7f)
            }
            guard distance > 0, distance <= offset - 12 else { return nil }
            return Entry(kind: .offsetDelta(base: offset - distance), size: size, dataOffset: cursor)
        case 7:
            guard cursor + Self.idSize <= end else { return nil }
            var base = git_oid()
            withUnsafeMutableBytes(of: &base.id) { id in
                id.copyMemory(from: UnsafeRawBufferPointer(rebasing: pack.bytes[cursor..<cursor + Self.idSize]))
            }
            return Entry(kind: .referenceDelta(base: base), size: size, dataOffset: cursor + Self.idSize)
        default:
            return nil
        }
    }

    /// The entry's zlib stream, inflated; nil unless it inflates to exactly `entry.size` bytes.
    func inflate(_ entry: Entry) -> [UInt8]? {
        let end = pack.count - Self.trailerSize
        guard entry.dataOffset < end else { return nil }
        var stream = z_stream()
        guard scepops_inflate_init(&stream) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        var inflated = false
        // One byte more than expected: a stream that would go past the size is caught
        // filling it, and an empty object still has somewhere to write.
        let output = [UInt8](unsafeUninitializedCapacity: entry.size + 1) { buffer, initialized in
            stream.next_in = UnsafeMutablePointer(
                mutating: (pack.bytes.baseAddress! + entry.dataOffset).assumingMemoryBound(to: UInt8.self))
            stream.avail_in = UInt32(clamping: end - entry.dataOffset)
            stream.next_out = buffer.baseAddress
            stream.avail_out = UInt32(clamping: entry.size + 1)
            let status = CZlib.inflate(&stream, Z_FINISH)
            inflated = status == Z_STREAM_END && Int(stream.total_out) == entry.size
            initialized = inflated ? entry.size : 0
        }
        return inflated ? output : nil
    }
}
