import Foundation
import PostgresNIO
import Shared

/// Consent remembered per user and client: a later request is approved without asking when
/// it wants no more than was granted.
struct ConsentStore: Sendable {
    let database: Database

    func hasConsent(userID: UUID, clientID: String, scope: ScopeSet) async throws -> Bool {
        let rows = try await database.query(
            "SELECT scope FROM consents WHERE user_id = \(userID) AND client_id = \(clientID)")
        guard let row = rows.first else { return false }
        let granted = ScopeSet(try row.decode(String.self))
        return scope.isSubset(of: granted)
    }

    /// Records the grant, widening an earlier one (inside the caller's transaction).
    static func record(userID: UUID, clientID: String, scope: ScopeSet, connection: PostgresConnection) async throws {
        _ = try await connection.query("""
            INSERT INTO consents (user_id, client_id, scope) VALUES (\(userID), \(clientID), \(scope.description))
            ON CONFLICT (user_id, client_id) DO UPDATE SET
              scope = (SELECT string_agg(DISTINCT s, ' ') FROM unnest(string_to_array(consents.scope || ' ' || EXCLUDED.scope, ' ')) AS s WHERE s <> ''),
              granted_at = now()
            """, logger: connection.logger)
    }
}
