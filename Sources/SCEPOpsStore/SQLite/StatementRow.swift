import GRDB

/// A row read by column number, from GRDB or from the quick reader: the hottest reads
/// decode their answer once, whichever ran the statement. A value of another type reads as
/// nil rather than stopping the process.
protocol StatementRow {
    func text(_ column: Int32) -> String?
    func integer(_ column: Int32) -> Int64?
}

extension Row: StatementRow {
    func text(_ column: Int32) -> String? {
        String.fromDatabaseValue(self[Int(column)] as DatabaseValue)
    }

    func integer(_ column: Int32) -> Int64? {
        Int64.fromDatabaseValue(self[Int(column)] as DatabaseValue)
    }
}

extension QuickReader.Row: StatementRow {}
