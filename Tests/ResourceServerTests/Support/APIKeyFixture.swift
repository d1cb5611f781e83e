import Foundation
import PostgresNIO
import Shared
import TestSupport

/// Writes users and `api_keys` rows the way `AuthServer tokens create` does (the ResourceServer's
/// tests cannot link the AuthServer), and revokes a key the way `tokens revoke` does.
enum APIKeyFixture {
    struct Key: Sendable {
        let id: UUID
        let userID: UUID
        let key: String
        var revocationID: String { APIKeySecret.revocationID(keyID: id.uuidString.lowercased()) }
    }

    static func user(disabled: Bool = false) async throws -> UUID {
        let id = UUID()
        let name = TestDatabase.uniqueName("pat")
        try await TestDatabase.withDatabase { database in
            _ = try await database.query(
                "INSERT INTO users (id, username, password_hash, disabled) VALUES (\(id), \(name), 'x', \(disabled))")
        }
        return id
    }

    static func key(user: UUID? = nil, resource: String = ResourceServerHarness.resource, scope: String,
                    expiresAt: Date, clientLabel: String = "api-key") async throws -> Key {
        let userID: UUID
        if let user { userID = user } else { userID = try await Self.user() }
        let key = APIKeySecret.generate(), id = UUID()
        let hash = APIKeySecret.hash(key)!
        try await TestDatabase.withDatabase { database in
            _ = try await database.query("""
                INSERT INTO api_keys (id, secret_hash, name, user_id, client_label, resource, scope, created_at, expires_at)
                VALUES (\(id), \(ByteBuffer(bytes: hash)), 'test', \(userID), \(clientLabel), \(resource), \(scope), now(), \(expiresAt))
                """)
        }
        return Key(id: id, userID: userID, key: key)
    }

    static func revoke(_ key: Key, expiresAt: Date) async throws {
        try await TestDatabase.withDatabase { database in
            _ = try await database.query("UPDATE api_keys SET revoked_at = now() WHERE id = \(key.id)")
            _ = try await database.query("""
                INSERT INTO revoked_access_tokens (jti, expires_at) VALUES (\(key.revocationID), \(expiresAt))
                ON CONFLICT (jti) DO NOTHING
                """)
        }
    }

    static func setDisabled(_ user: UUID, _ disabled: Bool) async throws {
        try await TestDatabase.withDatabase { database in
            _ = try await database.query("UPDATE users SET disabled = \(disabled) WHERE id = \(user)")
        }
    }

    static func lastUsed(_ key: Key) async throws -> Date? {
        try await TestDatabase.withDatabase { database in
            try await database.query("SELECT last_used_at FROM api_keys WHERE id = \(key.id)").first?.columns["last_used_at"]
        }
    }
}
