import Foundation

extension Array where Element: Sendable {
    /// `map` spread over the cores, in order. For work that is per element and pure (a
    /// file parsed on its own): a large repo's validation spends most of its time in it.
    /// Below `minimumPerCore` elements per core the overhead is not worth it.
    public func concurrentMap<T>(minimumPerCore: Int = 64, _ transform: (Element) -> T) -> [T] {
        let cores = Swift.max(1, Swift.min(ProcessInfo.processInfo.activeProcessorCount, count / minimumPerCore))
        guard cores > 1 else { return map(transform) }
        // Several slices a core, handed out as cores free up: with one slice a core, a core
        // that started late or was preempted leaves the others idle at the end.
        let slices = Swift.min(count, cores * 8)
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            // Each slice initialises only its own slots, and every slot once; the result is
            // built in place rather than as optionals copied out afterwards.
            nonisolated(unsafe) let slots = buffer
            withoutActuallyEscaping(transform) { transform in
                nonisolated(unsafe) let transform = transform
                DispatchQueue.concurrentPerform(iterations: slices) { slice in
                    for index in Swift.stride(from: slice, to: count, by: slices) {
                        (slots.baseAddress! + index).initialize(to: transform(self[index]))
                    }
                }
            }
            initialized = count
        }
    }
}
