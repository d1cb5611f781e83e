import Foundation

/// Seals a user's connection tokens at rest: AES-256-GCM under the key-encryption key (the one
/// that protects signing keys, `GATEHOUSE_KEK` / `GATEHOUSE_KEK_FILE`), with the column, the user
/// id and the connection id as associated data. A database reader learns no token; a sealed
/// value copied to another user's row, another connection or the other column does not open
/// (the GCM tag covers the associated data: NIST SP 800-38D §5.2.1.2).
public struct ConnectionTokenSeal: Sendable, CustomStringConvertible {
    public enum Column: String, Sendable {
        case accessToken = "access_token"
        case refreshToken = "refresh_token"
        /// The PKCE verifier of a connect request in flight (`connection_states`).
        case codeVerifier = "code_verifier"
    }

    private let kek: KeyEncryptionKey

    public init(kek: KeyEncryptionKey) {
        self.kek = kek
    }

    public var description: String { "ConnectionTokenSeal(\(kek))" }

    public func seal(_ value: String, _ column: Column, userID: UUID, connectionID: String) throws -> [UInt8] {
        try kek.seal(Array(value.utf8), associatedData: Self.associatedData(column, userID: userID, connectionID: connectionID))
    }

    public func open(_ sealed: [UInt8], _ column: Column, userID: UUID, connectionID: String) throws -> String {
        let plain = try kek.open(sealed, associatedData: Self.associatedData(column, userID: userID, connectionID: connectionID))
        return String(decoding: plain, as: UTF8.self)
    }

    /// `gatehouse-connection-v1 NUL column NUL user-id NUL connection-id`: NUL cannot occur in a
    /// column name, a UUID or a connection id, so no two triples give the same bytes.
    static func associatedData(_ column: Column, userID: UUID, connectionID: String) -> [UInt8] {
        Array("gatehouse-connection-v1\u{0}\(column.rawValue)\u{0}\(userID.uuidString.lowercased())\u{0}\(connectionID)".utf8)
    }
}

/// What a provider's token endpoint answered (RFC 6749 §5.1), as Gatehouse keeps it. Prints
/// without the tokens.
public struct ConnectionTokens: Sendable, Equatable, CustomStringConvertible {
    public var accessToken: String
    public var refreshToken: String?
    /// From `expires_in`; nil when the provider did not say (the token is then used until refused).
    public var expiresAt: Date?
    /// `scope` as granted (space-separated), or empty.
    public var scopes: String

    public init(accessToken: String, refreshToken: String?, expiresAt: Date?, scopes: String) {
        (self.accessToken, self.refreshToken, self.expiresAt, self.scopes) = (accessToken, refreshToken, expiresAt, scopes)
    }

    public var description: String {
        "ConnectionTokens(access: <redacted>, refresh: \(refreshToken == nil ? "none" : "<redacted>"), expires: \(expiresAt.map { "\($0)" } ?? "unknown"))"
    }
}
