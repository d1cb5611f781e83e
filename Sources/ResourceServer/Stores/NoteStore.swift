import Foundation
import PostgresNIO
import Shared

/// One note as tools return it.
struct Note: Codable, Sendable, Equatable {
    var id: Int64
    var text: String
    var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, text
        case createdAt = "created_at"
    }
}

/// The `notes` table. Every query is scoped by `subject` (the token's `sub`), so one person can never
/// read, find or delete another's notes, whatever ids or text they pass.
struct NoteStore: Sendable {
    let database: Database
    static let listLimit = 100

    func add(subject: String, text: String) async throws -> Note {
        let rows = try await database.query(
            "INSERT INTO notes (subject, body) VALUES (\(subject), \(text)) RETURNING id, body, created_at")
        guard let row = rows.first else { throw NoteStoreError.noRowReturned }
        return try Self.note(row)
    }

    /// Newest first.
    func list(subject: String) async throws -> [Note] {
        try await database.query(
            "SELECT id, body, created_at FROM notes WHERE subject = \(subject) ORDER BY id DESC LIMIT \(Self.listLimit)"
        ).map(Self.note)
    }

    /// Case-insensitive substring search. `%`, `_` and `\` in the query are matched literally.
    func search(subject: String, query: String) async throws -> [Note] {
        let pattern = "%" + Self.escapeLikePattern(query) + "%"
        return try await database.query(
            "SELECT id, body, created_at FROM notes WHERE subject = \(subject) AND body ILIKE \(pattern) ESCAPE '\\' ORDER BY id DESC LIMIT \(Self.listLimit)"
        ).map(Self.note)
    }

    /// False when there is no such note *for this subject* (another person's note looks the same as none).
    func delete(subject: String, id: Int64) async throws -> Bool {
        let rows = try await database.query("DELETE FROM notes WHERE id = \(id) AND subject = \(subject) RETURNING id")
        return !rows.isEmpty
    }

    /// PostgreSQL LIKE: "To match a literal underscore or percent sign without matching other characters,
    /// the respective character in pattern must be preceded by the escape character."
    static func escapeLikePattern(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "\\" || character == "%" || character == "_" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    /// A row of `id, body, created_at`, read by name.
    private static func note(_ row: PostgresRow) throws -> Note {
        let columns = row.columns
        return Note(id: try columns["id"], text: try columns["body"], createdAt: try columns["created_at"])
    }
}

enum NoteStoreError: Error {
    case noRowReturned
}
