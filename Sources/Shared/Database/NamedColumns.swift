import PostgresNIO

/// A row read by column name, so a store maps a query's columns to its named row type by name
/// and never by position (`row.4`): reordering a SELECT cannot silently swap two fields of the
/// same type. A column the query does not return throws instead of trapping.
public struct NamedColumns: Sendable {
    private let row: PostgresRandomAccessRow

    public init(_ row: PostgresRow) { self.row = row.makeRandomAccess() }

    public subscript<Value: PostgresDecodable>(_ column: String) -> Value {
        get throws {
            guard row.contains(column) else { throw MissingColumn(name: column) }
            return try row[column].decode(Value.self)
        }
    }

    public struct MissingColumn: Error, CustomStringConvertible {
        public let name: String
        public var description: String { "the query returned no column \"\(name)\"" }
    }
}

extension PostgresRow {
    /// This row's columns by name.
    public var columns: NamedColumns { NamedColumns(self) }
}
