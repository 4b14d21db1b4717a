import GRDB

/// A row read by column number, from GRDB or from the quick reader: the hottest reads
/// decode their answer once, whichever ran the statement. A value of another type reads as
/// nil rather than stopping the process, and text is read whole: cut at a NUL, a host
/// `H1\0x` would read back as `H1` and pass for it.
protocol StatementRow {
    func text(_ column: Int32) -> String?
    func integer(_ column: Int32) -> Int64?
}

extension Row: StatementRow {
    /// Whole only in a live row (`firstRow`): a copied row's text already stops at a NUL.
    func text(_ column: Int32) -> String? {
        guard case .string = (self[Int(column)] as DatabaseValue).storage else { return nil }
        return (try? withUnsafeData(atIndex: Int(column)) { $0.map { String(decoding: $0, as: UTF8.self) } }) ?? nil
    }

    func integer(_ column: Int32) -> Int64? {
        Int64.fromDatabaseValue(self[Int(column)] as DatabaseValue)
    }
}

extension QuickReader.Row: StatementRow {}

