import Foundation
import Logging
import PostgresNIO

/// Owns `user_connections` (migration 15): each user's tokens for each connection, sealed with
/// `ConnectionTokenSeal`. Both services use it: the AuthServer stores tokens after a connect and
/// deletes them on disconnect, the ResourceServer reads them before an upstream call and
/// refreshes them (`current`). Tokens never leave this type except as `ConnectionTokens`, which
/// prints redacted.
public struct UserConnectionStore: Sendable {
    public enum Status: String, Sendable {
        case live
        /// The provider refused a refresh: the user must connect again.
        case broken
    }

    /// One row without its tokens, for the account page.
    public struct Summary: Sendable, Equatable {
        public let connectionID: String
        public let status: Status
        public let expiresAt: Date?
        public let scopes: String
        public let updatedAt: Date
    }

    /// What a tool call gets for one connection.
    public enum Lookup: Sendable, Equatable {
        case live(ConnectionTokens)
        /// The user never connected (or disconnected).
        case missing
        /// The provider refused the refresh, or the token expired with nothing to refresh it with.
        case broken
        /// The token expired and the provider could not be reached to refresh it: try again later.
        case unavailable(reason: String)
    }

    let database: Database
    let seal: ConnectionTokenSeal

    public init(database: Database, seal: ConnectionTokenSeal) {
        self.database = database
        self.seal = seal
    }

    /// A row as read, tokens opened.
    struct Row: Sendable {
        let status: Status
        let tokens: ConnectionTokens
    }

    // MARK: writing

    /// Stores the tokens of a (re)connect: the row is live again, whatever it was.
    public func save(userID: UUID, connectionID: String, tokens: ConnectionTokens, now: Date) async throws {
        let access = ByteBuffer(bytes: try seal.seal(tokens.accessToken, .accessToken, userID: userID, connectionID: connectionID))
        let refresh = try tokens.refreshToken.map {
            ByteBuffer(bytes: try seal.seal($0, .refreshToken, userID: userID, connectionID: connectionID))
        }
        _ = try await StoreFailure.mapping("UserConnectionStore", "save") {
            try await database.query("""
                INSERT INTO user_connections (user_id, connection_id, access_token_sealed, refresh_token_sealed, expires_at,
                                              scopes, status, created_at, updated_at)
                VALUES (\(userID), \(connectionID), \(access), \(refresh), \(tokens.expiresAt), \(tokens.scopes), 'live', \(now), \(now))
                ON CONFLICT (user_id, connection_id) DO UPDATE SET
                    access_token_sealed = EXCLUDED.access_token_sealed, refresh_token_sealed = EXCLUDED.refresh_token_sealed,
                    expires_at = EXCLUDED.expires_at, scopes = EXCLUDED.scopes, status = 'live', updated_at = EXCLUDED.updated_at
                """)
        }
    }

    /// Deletes one connection and returns its tokens (to revoke them at the provider), or nil.
    public func delete(userID: UUID, connectionID: String) async throws -> ConnectionTokens? {
        let rows = try await StoreFailure.mapping("UserConnectionStore", "delete") {
            try await database.query("""
                DELETE FROM user_connections WHERE user_id = \(userID) AND connection_id = \(connectionID)
                RETURNING \(unescaped: Self.columns)
                """)
        }
        return try rows.first.map { try open($0, userID: userID, connectionID: connectionID).tokens }
    }

    /// A connection deleted with its user, its tokens still sealed: the caller opens them (it may
    /// hold no KEK) and revokes them at the provider once the transaction has committed.
    public struct Removed: Sendable {
        public let connectionID: String
        let accessSealed: [UInt8]
        let refreshSealed: [UInt8]?

        /// The tokens, or nil when they do not open under `seal` (another KEK, or moved).
        public func tokens(userID: UUID, seal: ConnectionTokenSeal) -> ConnectionTokens? {
            guard let access = try? seal.open(accessSealed, .accessToken, userID: userID, connectionID: connectionID) else { return nil }
            let refresh = refreshSealed.flatMap { try? seal.open($0, .refreshToken, userID: userID, connectionID: connectionID) }
            return ConnectionTokens(accessToken: access, refreshToken: refresh, expiresAt: nil, scopes: "")
        }
    }

    /// Every connection of a user, in the caller's transaction (disabling a user); returns them,
    /// sealed, in connection order.
    @discardableResult
    public static func deleteAll(userID: UUID, connection: PostgresConnection) async throws -> [Removed] {
        let rows = try await connection.query("""
            DELETE FROM user_connections WHERE user_id = \(userID)
            RETURNING connection_id, access_token_sealed, refresh_token_sealed
            """, logger: connection.logger)
        var removed: [Removed] = []
        for try await row in rows {
            let columns = row.columns
            let access: ByteBuffer = try columns["access_token_sealed"]
            let refresh: ByteBuffer? = try columns["refresh_token_sealed"]
            removed.append(Removed(connectionID: try columns["connection_id"], accessSealed: Array(buffer: access),
                                   refreshSealed: refresh.map { Array(buffer: $0) }))
        }
        return removed.sorted { $0.connectionID < $1.connectionID }
    }

    /// What re-sealing under a new key-encryption key did to a table's sealed values.
    public struct ResealCount: Sendable, Equatable {
        /// Opened under the old key and sealed again under the new one.
        public var resealed = 0
        /// Already under the new key (a repeated run, or written by a server that has it).
        public var alreadyCurrent = 0
        /// Opening under neither key: left as they are (they read as broken; connecting again replaces them).
        public var unreadable = 0

        public init() {}
    }

    /// `keys reseal`: every row's tokens opened under `old` and sealed under `new`, in the
    /// caller's transaction (the signing keys' reseal), rows locked. The associated data (column,
    /// user, connection) stays the same. A row that opens under neither key is left alone: the
    /// signing keys already prove `old` is the key in use, so such a row was unreadable before.
    public static func reseal(from old: KeyEncryptionKey, to new: KeyEncryptionKey,
                              connection: PostgresConnection) async throws -> ResealCount {
        let (from, to) = (ConnectionTokenSeal(kek: old), ConnectionTokenSeal(kek: new))
        let rows = try await connection.query("""
            SELECT user_id, connection_id, access_token_sealed, refresh_token_sealed FROM user_connections
            ORDER BY user_id, connection_id FOR UPDATE
            """, logger: connection.logger)
        var sealed: [(userID: UUID, connectionID: String, access: [UInt8], refresh: [UInt8]?)] = []
        for try await row in rows {
            let columns = row.columns
            let access: ByteBuffer = try columns["access_token_sealed"]
            let refresh: ByteBuffer? = try columns["refresh_token_sealed"]
            sealed.append((try columns["user_id"], try columns["connection_id"], Array(buffer: access), refresh.map { Array(buffer: $0) }))
        }
        var count = ResealCount()
        var users: [UUID] = [], ids: [String] = [], accesses: [ByteBuffer] = [], refreshes: [ByteBuffer] = []
        for row in sealed {
            func opened(_ seal: ConnectionTokenSeal) -> (String, String?)? {
                guard let access = try? seal.open(row.access, .accessToken, userID: row.userID, connectionID: row.connectionID) else { return nil }
                guard let refresh = row.refresh else { return (access, nil) }
                guard let plain = try? seal.open(refresh, .refreshToken, userID: row.userID, connectionID: row.connectionID) else { return nil }
                return (access, plain)
            }
            if opened(to) != nil { count.alreadyCurrent += 1; continue }
            guard let (access, refresh) = opened(from) else { count.unreadable += 1; continue }
            users.append(row.userID)
            ids.append(row.connectionID)
            accesses.append(ByteBuffer(bytes: try to.seal(access, .accessToken, userID: row.userID, connectionID: row.connectionID)))
            // Empty for none: a sealed value is never empty (it carries the GCM nonce and tag).
            refreshes.append(ByteBuffer(bytes: try refresh.map { try to.seal($0, .refreshToken, userID: row.userID, connectionID: row.connectionID) } ?? []))
        }
        guard !users.isEmpty else { return count }
        // One statement for every row, so a large table stays within the transaction's deadline.
        _ = try await connection.query("""
            UPDATE user_connections AS c SET access_token_sealed = v.access,
                refresh_token_sealed = CASE WHEN octet_length(v.refresh) = 0 THEN NULL ELSE v.refresh END
            FROM unnest(\(users), \(ids), \(accesses), \(refreshes)) AS v(user_id, connection_id, access, refresh)
            WHERE c.user_id = v.user_id AND c.connection_id = v.connection_id
            """, logger: connection.logger)
        count.resealed = users.count
        return count
    }

    public func markBroken(userID: UUID, connectionID: String, now: Date) async throws {
        _ = try await StoreFailure.mapping("UserConnectionStore", "markBroken") {
            try await database.query("""
                UPDATE user_connections SET status = 'broken', updated_at = \(now)
                WHERE user_id = \(userID) AND connection_id = \(connectionID)
                """)
        }
    }

    // MARK: reading

    public func summaries(userID: UUID) async throws -> [Summary] {
        let rows = try await StoreFailure.mapping("UserConnectionStore", "summaries") {
            try await database.query("""
                SELECT connection_id, status, expires_at, scopes, updated_at FROM user_connections
                WHERE user_id = \(userID) ORDER BY connection_id
                """)
        }
        return try rows.map { row in
            let columns = row.columns
            return Summary(connectionID: try columns["connection_id"], status: Status(rawValue: try columns["status"]) ?? .broken,
                           expiresAt: try columns["expires_at"], scopes: try columns["scopes"], updatedAt: try columns["updated_at"])
        }
    }

    /// The user's token for `connectionID`, refreshed first when it expires within `window`
    /// seconds. `refresh` asks the provider (refresh_token grant); it runs at most once per
    /// refresh across every replica: the row is locked (`SELECT … FOR UPDATE`) and decided again
    /// under the lock, so a caller that waited for another's refresh finds the new token and uses
    /// it. A rotated refresh token replaces the old one (RFC 6749 §6: "the client MUST discard the
    /// old refresh token and replace it with the new refresh token"); a provider that sends none
    /// keeps the old one valid. A refusal (`invalid_grant` …) marks the row broken.
    public func current(userID: UUID, connectionID: String, now: Date, window: TimeInterval,
                        refresh: @escaping @Sendable (String) async -> ConnectionTokenOutcome) async throws -> Lookup {
        guard let row = try await find(userID: userID, connectionID: connectionID) else { return .missing }
        switch decide(row, now: now, window: window) {
        case .use: return .live(row.tokens)
        case .broken: return .broken
        case .refresh: break
        }
        let seal = self.seal
        let columns = Self.columns
        return try await StoreFailure.mapping("UserConnectionStore", "refresh") {
            try await database.transaction { connection in
                let locked = try await connection.query("""
                    SELECT \(unescaped: columns) FROM user_connections
                    WHERE user_id = \(userID) AND connection_id = \(connectionID) FOR UPDATE
                    """, logger: connection.logger)
                var found: Row?
                for try await row in locked { found = try Self.open(row, seal: seal, userID: userID, connectionID: connectionID) }
                guard let row = found else { return .missing }
                switch Self.decide(row, now: now, window: window) {
                case .use: return .live(row.tokens)
                case .broken: return .broken
                case .refresh: break
                }
                guard let refreshToken = row.tokens.refreshToken else { return .broken }
                switch await refresh(refreshToken) {
                case .tokens(var fresh):
                    if fresh.refreshToken == nil { fresh.refreshToken = refreshToken }
                    if fresh.scopes.isEmpty { fresh.scopes = row.tokens.scopes }
                    let access = ByteBuffer(bytes: try seal.seal(fresh.accessToken, .accessToken, userID: userID, connectionID: connectionID))
                    let newRefresh = ByteBuffer(bytes: try seal.seal(fresh.refreshToken ?? "", .refreshToken, userID: userID,
                                                                     connectionID: connectionID))
                    _ = try await connection.query("""
                        UPDATE user_connections SET access_token_sealed = \(access), refresh_token_sealed = \(newRefresh),
                            expires_at = \(fresh.expiresAt), scopes = \(fresh.scopes), status = 'live', updated_at = \(now)
                        WHERE user_id = \(userID) AND connection_id = \(connectionID)
                        """, logger: connection.logger)
                    return .live(fresh)
                case .refused:
                    _ = try await connection.query("""
                        UPDATE user_connections SET status = 'broken', updated_at = \(now)
                        WHERE user_id = \(userID) AND connection_id = \(connectionID)
                        """, logger: connection.logger)
                    return .broken
                case .failed(let reason):
                    // Still good for a moment: use it; else the call must wait for the provider.
                    if let expiresAt = row.tokens.expiresAt, expiresAt > now { return .live(row.tokens) }
                    return .unavailable(reason: reason)
                }
            }
        }
    }

    func find(userID: UUID, connectionID: String) async throws -> Row? {
        let rows = try await StoreFailure.mapping("UserConnectionStore", "find") {
            try await database.query("""
                SELECT \(unescaped: Self.columns) FROM user_connections WHERE user_id = \(userID) AND connection_id = \(connectionID)
                """)
        }
        return try rows.first.map { try open($0, userID: userID, connectionID: connectionID) }
    }

    private func decide(_ row: Row, now: Date, window: TimeInterval) -> ConnectionRefreshDecision {
        Self.decide(row, now: now, window: window)
    }

    private static func decide(_ row: Row, now: Date, window: TimeInterval) -> ConnectionRefreshDecision {
        ConnectionRefreshDecision.decide(status: row.status, expiresAt: row.tokens.expiresAt,
                                         hasRefreshToken: row.tokens.refreshToken != nil, now: now, window: window)
    }

    private static let columns = "access_token_sealed, refresh_token_sealed, expires_at, scopes, status"

    private func open(_ row: PostgresRow, userID: UUID, connectionID: String) throws -> Row {
        try Self.open(row, seal: seal, userID: userID, connectionID: connectionID)
    }

    /// A row whose tokens do not open (another KEK, or moved) reads as broken: connecting again
    /// replaces it.
    private static func open(_ row: PostgresRow, seal: ConnectionTokenSeal, userID: UUID, connectionID: String) throws -> Row {
        let columns = row.columns
        let accessSealed: ByteBuffer = try columns["access_token_sealed"]
        let refreshSealed: ByteBuffer? = try columns["refresh_token_sealed"]
        var status = Status(rawValue: try columns["status"]) ?? .broken
        var access = "", refresh: String?
        do {
            access = try seal.open(Array(buffer: accessSealed), .accessToken, userID: userID, connectionID: connectionID)
            refresh = try refreshSealed.map { try seal.open(Array(buffer: $0), .refreshToken, userID: userID, connectionID: connectionID) }
        } catch {
            status = .broken
        }
        return Row(status: status, tokens: ConnectionTokens(accessToken: access, refreshToken: refresh,
                                                            expiresAt: try columns["expires_at"], scopes: try columns["scopes"]))
    }
}
