import Foundation
import PostgresNIO
import Shared

/// The operator's block list (`AuthServer clients block`): a client_id, or a host whose metadata
/// documents are all refused. It lives in the database, so it holds on every replica and across
/// restarts, and a blocked metadata-document client is refused before anything is fetched.
/// Deleting a client does not unblock it.
extension ClientStore {
    enum BlockEntry: Sendable, Equatable {
        case clientID(String)
        /// Lower-cased, without port: it matches the client_id URL's host on any port.
        case host(String)

        var kind: String {
            switch self {
            case .clientID: "client_id"
            case .host: "host"
            }
        }

        var value: String {
            switch self {
            case .clientID(let id): id
            case .host(let host): host
            }
        }

        /// `https://host` (no path) or a bare `host.name` is a host; anything else is a client_id.
        init(parsing text: String) {
            if let parts = URLComponents(string: text), let scheme = parts.scheme?.lowercased(), ["https", "http"].contains(scheme),
               let host = parts.host, !host.isEmpty, parts.path.isEmpty || parts.path == "/", parts.query == nil {
                self = .host(host.lowercased())
            } else if !text.contains("/"), !text.contains(":"), text.contains("."), URLComponents(string: "https://\(text)/")?.host != nil {
                self = .host(text.lowercased())
            } else {
                self = .clientID(text)
            }
        }
    }

    /// Blocks `entry` and, in the same transaction, revokes everything issued to the clients it
    /// covers. False when it was already blocked.
    func block(_ entry: BlockEntry) async throws -> Bool {
        try await database.transaction { connection in
            let inserted = try await connection.query("""
                INSERT INTO blocked_clients (entry, kind) VALUES (\(entry.value), \(entry.kind))
                ON CONFLICT (entry) DO NOTHING RETURNING 1
                """, logger: connection.logger)
            var added = false
            for try await _ in inserted { added = true }
            var clientIDs: [String] = []
            switch entry {
            case .clientID(let id):
                clientIDs = [id]
            case .host(let host):
                let rows = try await connection.query(
                    "SELECT client_id FROM clients WHERE registration_kind = \(Client.metadataDocumentKind)", logger: connection.logger)
                for try await id in rows.decode(String.self) where OutboundFetchBudget.host(of: id) == host { clientIDs.append(id) }
            }
            for id in clientIDs {
                try await TokenRevocation.revokeFamilies(of: .client(id), reason: "client blocked", connection: connection)
            }
            return added
        }
    }

    func unblock(_ entry: BlockEntry) async throws -> Bool {
        let rows = try await database.query("DELETE FROM blocked_clients WHERE entry = \(entry.value) RETURNING 1")
        return !rows.isEmpty
    }

    /// Is this client_id, or the host of this client_id URL, blocked?
    func isBlocked(_ clientID: String) async throws -> Bool {
        let host = OutboundFetchBudget.host(of: clientID) ?? ""
        let rows = try await database.query("""
            SELECT 1 FROM blocked_clients
            WHERE (kind = 'client_id' AND entry = \(clientID)) OR (kind = 'host' AND entry = \(host))
            """)
        return !rows.isEmpty
    }

    struct BlockedRow: Sendable {
        let entry: String
        let kind: String
        let createdAt: Date

        init(columns: NamedColumns) throws {
            entry = try columns["entry"]
            kind = try columns["kind"]
            createdAt = try columns["created_at"]
        }
    }

    func blocked() async throws -> [BlockedRow] {
        try await database.query("SELECT entry, kind, created_at FROM blocked_clients ORDER BY created_at").map {
            try BlockedRow(columns: $0.columns)
        }
    }
}
