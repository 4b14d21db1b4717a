/// Objects that deltas were applied to, by where they are in the packs, kept for the next
/// delta against them: a pack's blobs chain deltas 50 deep, and reading each blob from the
/// bottom of its chain would inflate the same bases again and again. Up to a budget of
/// bytes; the first kept is the first let go.
struct BaseCache {
    struct Key: Hashable {
        var pack: Int
        var offset: Int
    }

    struct Object {
        var type: Int
        var bytes: [UInt8]
    }

    /// git keeps 96 MiB; a config repo's files are small.
    static let budget = 32 << 20

    private var objects: [Key: Object] = [:]
    private var order: [Key] = []
    private var first = 0
    private var bytes = 0

    subscript(key: Key) -> Object? { objects[key] }

    mutating func keep(_ object: Object, at key: Key) {
        guard objects.updateValue(object, forKey: key) == nil else { return }
        order.append(key)
        bytes += object.bytes.count
        while bytes > Self.budget, first < order.count {
            bytes -= objects.removeValue(forKey: order[first])?.bytes.count ?? 0
            first += 1
        }
        // The keys let go of are dropped once they are half the list.
        if first > order.count / 2 {
            order.removeFirst(first)
            first = 0
        }
    }
}
