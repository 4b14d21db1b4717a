/// How an apply in the history ended: a closed set, stored by its raw value.
public enum ApplyResult: String, Sendable, Hashable, CaseIterable {
    case applied
    case failed
}
