import ArgumentParser
import Foundation

/// Rows for a list command, printed as aligned columns for people or as a JSON array of objects
/// (keyed by the lowercased column names, absent values as null) for scripts.
struct OutputTable {
    let columns: [String]
    var rows: [[String?]] = []

    init(_ columns: String...) {
        self.columns = columns
    }

    mutating func append(_ row: String?...) {
        precondition(row.count == columns.count, "row has \(row.count) cells for \(columns.count) columns")
        rows.append(row)
    }

    func print(json: Bool) {
        Swift.print(json ? jsonText : text)
    }

    var text: String {
        let cells = [columns] + rows.map { $0.map { $0 ?? "-" } }
        let widths = columns.indices.map { index in cells.map { $0[index].count }.max() ?? 0 }
        return cells.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    var jsonText: String {
        let keys = columns.map { $0.lowercased() }
        let objects: [[String: Any]] = rows.map { row in
            Dictionary(uniqueKeysWithValues: zip(keys, row.map { cell -> Any in cell ?? NSNull() }))
        }
        let data = (try? JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys])) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// UTC, to the second: what operators paste into tickets and compare across machines.
    static func format(_ date: Date?) -> String? {
        date.map { $0.formatted(.iso8601) }
    }
}

/// `--json` for every list command.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print a JSON array instead of a table.")
    var json = false
}
