import Foundation

extension Array where Element: Sendable {
    /// `map` spread over the cores, in order. For work that is per element and pure (a
    /// file parsed on its own): a large repo's validation spends most of its time in it.
    /// Below `minimumPerCore` elements per core the overhead is not worth it.
    public func concurrentMap<T>(minimumPerCore: Int = 64, _ transform: (Element) -> T) -> [T] {
        let chunks = Swift.max(1, Swift.min(ProcessInfo.processInfo.activeProcessorCount, count / minimumPerCore))
        guard chunks > 1 else { return map(transform) }
        var results = [T?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { buffer in
            // Each chunk writes only its own slots, and every slot is written once.
            nonisolated(unsafe) let slots = buffer
            withoutActuallyEscaping(transform) { transform in
                nonisolated(unsafe) let transform = transform
                DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                    for index in Swift.stride(from: chunk, to: count, by: chunks) {
                        slots[index] = transform(self[index])
                    }
                }
            }
        }
        return results.map { $0! }
    }
}
