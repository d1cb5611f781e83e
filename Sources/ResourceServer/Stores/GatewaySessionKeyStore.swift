import NIOCore
import PostgresNIO
import Shared

/// The `gateway_session_keys` table: the one 32-byte key all ResourceServer replicas MAC gateway
/// session ids with. The first replica to start inserts a random key; every other one (and every
/// later start) reads the same row, so a session id minted by one replica verifies on all of them.
struct GatewaySessionKeyStore: Sendable {
    let database: Database

    /// The shared key, created if no replica has created it yet (`ON CONFLICT DO NOTHING` makes
    /// concurrent first starts agree on one row).
    func loadOrCreate() async throws -> [UInt8] {
        let candidate = ByteBuffer(bytes: SecureRandom.bytes(32))
        _ = try await database.query(
            "INSERT INTO gateway_session_keys (id, key) VALUES (1, \(candidate)) ON CONFLICT (id) DO NOTHING")
        let rows = try await database.query("SELECT key FROM gateway_session_keys WHERE id = 1")
        guard let row = rows.first else { throw GatewaySessionKeyStoreError.missing }
        let key = try row.decode(ByteBuffer.self)
        return Array(key.readableBytesView)
    }
}

enum GatewaySessionKeyStoreError: Error, CustomStringConvertible {
    case missing
    var description: String { "gateway_session_keys has no key after inserting one" }
}
