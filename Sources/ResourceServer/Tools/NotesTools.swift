import MCP
import Shared

/// The notes tools. Each one reads the owner from the verified identity, never from its arguments.
extension ToolDefinition {
    static let maximumNoteLength = 10_000
    static let maximumQueryLength = 200

    static func notesAdd(_ store: NoteStore) -> ToolDefinition {
        ToolDefinition(
            name: "notes_add",
            description: "Save a new note. Returns the stored note with its id.",
            inputSchema: objectSchema(
                ["text": .object(["type": "string", "description": "The note text.", "minLength": 1, "maxLength": .int(maximumNoteLength)])],
                required: ["text"]),
            annotations: .init(title: "Add note", readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false),
            requiredScopes: [ScopeCatalog.notesWrite]
        ) { arguments, identity in
            try arguments.onlyAllow(["text"])
            let text = try arguments.string("text", maxLength: maximumNoteLength)
            return try ToolResult.json(try await store.add(subject: identity.subject, text: text))
        }
    }

    static func notesList(_ store: NoteStore) -> ToolDefinition {
        ToolDefinition(
            name: "notes_list",
            description: "List your notes, newest first (at most \(NoteStore.listLimit)).",
            inputSchema: objectSchema([:]),
            annotations: .init(title: "List notes", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false),
            requiredScopes: [ScopeCatalog.notesRead]
        ) { arguments, identity in
            try arguments.onlyAllow([])
            return try ToolResult.json(NoteList(notes: try await store.list(subject: identity.subject)))
        }
    }

    static func notesSearch(_ store: NoteStore) -> ToolDefinition {
        ToolDefinition(
            name: "notes_search",
            description: "Find your notes containing the given text (case-insensitive).",
            inputSchema: objectSchema(
                ["query": .object(["type": "string", "description": "Text to look for.", "minLength": 1, "maxLength": .int(maximumQueryLength)])],
                required: ["query"]),
            annotations: .init(title: "Search notes", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false),
            requiredScopes: [ScopeCatalog.notesRead]
        ) { arguments, identity in
            try arguments.onlyAllow(["query"])
            let query = try arguments.string("query", maxLength: maximumQueryLength)
            return try ToolResult.json(NoteList(notes: try await store.search(subject: identity.subject, query: query)))
        }
    }

    static func notesDelete(_ store: NoteStore) -> ToolDefinition {
        ToolDefinition(
            name: "notes_delete",
            description: "Delete one of your notes by id.",
            inputSchema: objectSchema(["id": .object(["type": "integer", "description": "The note id."])], required: ["id"]),
            annotations: .init(title: "Delete note", readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false),
            requiredScopes: [ScopeCatalog.notesWrite]
        ) { arguments, identity in
            try arguments.onlyAllow(["id"])
            let id = try arguments.integer("id")
            guard try await store.delete(subject: identity.subject, id: Int64(id)) else {
                return ToolResult.error("no note with id \(id)")
            }
            return try ToolResult.json(Deleted(deleted: Int64(id)))
        }
    }
}

private struct NoteList: Encodable, Sendable {
    let notes: [Note]
}

private struct Deleted: Encodable, Sendable {
    let deleted: Int64
}
