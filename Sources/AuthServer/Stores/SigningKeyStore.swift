import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import Shared

/// A signing key as stored: public JWK, private key sealed under the key-encryption key.
struct SigningKeyRecord: Sendable {
    let kid: String
    let publicJWK: JWK
    let signsFrom: Date
    let retiredAt: Date?
    let unpublishAfter: Date?
    let createdAt: Date
}

extension SigningKeyRecord {
    /// A row of `signing_keys` with `public_jwk` read as text.
    init(columns: NamedColumns) throws {
        let jwkText: String = try columns["public_jwk"]
        self.init(kid: try columns["kid"], publicJWK: try JSONDecoder().decode(JWK.self, from: Data(jwkText.utf8)),
                  signsFrom: try columns["signs_from"], retiredAt: try columns["retired_at"],
                  unpublishAfter: try columns["unpublish_after"], createdAt: try columns["created_at"])
    }
}

/// A signing key's private half as stored: sealed under the key-encryption key with this fingerprint.
struct SealedKeyRow: Sendable {
    let kid: String
    let sealed: [UInt8]
    let fingerprint: String

    init(columns: NamedColumns) throws {
        kid = try columns["kid"]
        let bytes: ByteBuffer = try columns["private_key_sealed"]
        sealed = Array(buffer: bytes)
        fingerprint = try columns["kek_fingerprint"]
    }
}

/// The RS256 keys, kept in PostgreSQL so that every replica signs with and publishes the same set.
///
/// Rotation rule: a new key is published in the JWKS `prepublish` seconds before it starts to
/// sign, so resource servers have it cached before the first token; the key it replaces stops
/// signing at that moment and stays published until every token it signed has expired.
actor SigningKeyStore {
    struct Signer: Sendable {
        let kid: String
        let key: RSAKey
    }

    private let database: Database
    private let kek: KeyEncryptionKey
    private let bits: Int
    private let accessTokenLifetime: Int
    private let prepublishSeconds: Int
    private let clock: Clock
    private let logger: Logger
    /// Replicas see another replica's rotation within this many seconds.
    private let reloadInterval: TimeInterval = 10

    private var records: [SigningKeyRecord] = []
    private var privateKeys: [String: RSAKey] = [:]
    private var loadedAt: Date?

    init(database: Database, kek: KeyEncryptionKey, bits: Int, accessTokenLifetime: Int,
         prepublishSeconds: Int, clock: Clock, logger: Logger) {
        self.database = database
        self.kek = kek
        self.bits = bits
        self.accessTokenLifetime = accessTokenLifetime
        self.prepublishSeconds = prepublishSeconds
        self.clock = clock
        self.logger = logger
    }

    /// Creates the first key when there is none (under an advisory lock: replicas may race).
    /// `candidate`, when given, is the key stored if there is none yet (and dropped otherwise):
    /// `firstKeyCandidate` generates it while the migrations of a fresh database run.
    func bootstrap(candidate: RSAKey? = nil) async throws {
        // The very first key has no tokens in circulation to wait for: it signs from the epoch,
        // so every replica (whatever its clock says) can use it at once.
        let now = Date(timeIntervalSince1970: 0)
        try await database.transaction { [kek, bits] connection in
            _ = try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: connection.logger)
            let rows = try await connection.query("SELECT count(*) AS keys FROM signing_keys", logger: connection.logger)
            var count = 0
            for try await value in rows.decode(Int.self) { count = value }
            if count == 0 {
                try await Self.insertNewKey(connection, kek: kek, bits: bits, signsFrom: now, key: candidate)
            }
        }
        try await reload()
        // Fail at start-up, not at the first token request, when the key-encryption key is wrong.
        _ = try await currentSigner()
    }

    /// Adds a key that starts signing after the pre-publication delay (or at once).
    @discardableResult
    func rotate(immediately: Bool = false) async throws -> String {
        let now = clock.now()
        let signsFrom = immediately ? now : now.addingTimeInterval(TimeInterval(prepublishSeconds))
        // The key being replaced keeps verifying until the last token it signed expires.
        let unpublishAfter = signsFrom.addingTimeInterval(TimeInterval(accessTokenLifetime + 60))
        let kid = try await database.transaction { [kek, bits] connection in
            _ = try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: connection.logger)
            _ = try await connection.query("""
                UPDATE signing_keys SET retired_at = \(signsFrom), unpublish_after = \(unpublishAfter)
                WHERE retired_at IS NULL
                """, logger: connection.logger)
            return try await Self.insertNewKey(connection, kek: kek, bits: bits, signsFrom: signsFrom)
        }
        try await reload()
        return kid
    }

    /// What `retire` did: the key retired, and the key that signs from now on when the retired
    /// one was signing (nil when another key was already signing).
    struct Retirement: Sendable {
        let kid: String
        let successor: String?
    }

    /// Stops `kid` signing now. `immediately` (a compromise): it also leaves the JWKS now, and its
    /// `kid` goes to `revoked_signing_keys` with a NOTIFY, so every resource server refuses the
    /// tokens it signed, cached ones included, within a second. Otherwise it stays published until
    /// its last token expires, like a rotated-out key.
    ///
    /// Something must always sign, now and later, so in the same transaction: when no key is left
    /// without an end, a new key is created that signs at once; when keys remain but none signs
    /// now, the earliest pending one (published by `rotate`) starts signing at once. So retiring
    /// the only key is allowed: it rotates in its successor.
    func retire(kid: String, immediately: Bool) async throws -> Retirement {
        let now = clock.now()
        let unpublishAfter = immediately ? now : now.addingTimeInterval(TimeInterval(accessTokenLifetime + 60))
        let successor = try await database.transaction { [kek, bits] connection -> String? in
            _ = try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: connection.logger)
            let updated = try await connection.query("""
                UPDATE signing_keys
                SET retired_at = LEAST(COALESCE(retired_at, \(now)), \(now)),
                    unpublish_after = LEAST(COALESCE(unpublish_after, \(unpublishAfter)), \(unpublishAfter))
                WHERE kid = \(kid) RETURNING kid
                """, logger: connection.logger)
            var found = false
            for try await _ in updated.decode(String.self) { found = true }
            guard found else { throw SigningKeyError.unknownKey(kid: kid) }
            if immediately {
                _ = try await connection.query(
                    "INSERT INTO revoked_signing_keys (kid) VALUES (\(kid)) ON CONFLICT (kid) DO NOTHING", logger: connection.logger)
                try await TokenRevocation.announceRevokedSigningKey(kid, connection: connection)
            }
            let counts = try await connection.query("""
                SELECT count(*) FILTER (WHERE retired_at IS NULL) AS unending,
                       count(*) FILTER (WHERE signs_from <= \(now) AND (retired_at IS NULL OR retired_at > \(now))) AS signing
                FROM signing_keys
                """, logger: connection.logger)
            var (unending, signing) = (0, 0)
            for try await row in counts {
                let columns = row.columns
                (unending, signing) = (try columns["unending"], try columns["signing"])
            }
            // No key is left to sign in the future: a new one signs from now.
            if unending == 0 { return try await Self.insertNewKey(connection, kek: kek, bits: bits, signsFrom: now) }
            // A key signs now, and a key without an end takes over when it stops.
            guard signing == 0 else { return nil }
            let promoted = try await connection.query("""
                UPDATE signing_keys SET signs_from = \(now)
                WHERE kid = (SELECT kid FROM signing_keys WHERE retired_at IS NULL AND signs_from > \(now)
                             ORDER BY signs_from LIMIT 1)
                RETURNING kid
                """, logger: connection.logger)
            for try await pending in promoted.decode(String.self) { return pending }
            return try await Self.insertNewKey(connection, kek: kek, bits: bits, signsFrom: now)
        }
        try await reload()
        return Retirement(kid: kid, successor: successor)
    }

    /// The key to sign with now.
    func currentSigner() async throws -> Signer {
        try await reloadIfStale()
        let now = clock.now()
        let candidates = records
            .filter { $0.signsFrom <= now && ($0.retiredAt.map { $0 > now } ?? true) }
            .sorted { $0.signsFrom > $1.signsFrom }
        guard let record = candidates.first else {
            throw OAuthError.temporarilyUnavailable(debug: "no signing key is active")
        }
        if let key = privateKeys[record.kid] { return Signer(kid: record.kid, key: key) }
        let key = try await loadPrivateKey(kid: record.kid)
        privateKeys[record.kid] = key
        return Signer(kid: record.kid, key: key)
    }

    /// Every key a token in circulation may have been signed with, plus the next one.
    /// `fresh` reads the database now: the JWKS endpoint uses it, so a resource server that
    /// refetches because of an unknown `kid` never gets a set older than another replica's signer.
    func publishedKeys(fresh: Bool = false) async throws -> [JWK] {
        if fresh { try await reload() } else { try await reloadIfStale() }
        let now = clock.now()
        return records.filter { $0.unpublishAfter.map { $0 > now } ?? true }.map(\.publicJWK)
    }

    func allRecords() async throws -> [SigningKeyRecord] {
        try await reload()
        return records
    }

    var isLoaded: Bool { !records.isEmpty }

    private func reloadIfStale() async throws {
        if let loadedAt, clock.now().timeIntervalSince(loadedAt) < reloadInterval { return }
        try await reload()
    }

    func reload() async throws {
        let rows = try await database.query("""
            SELECT kid, public_jwk::text AS public_jwk, signs_from, retired_at, unpublish_after, created_at
            FROM signing_keys ORDER BY signs_from
            """)
        records = try rows.map { try SigningKeyRecord(columns: $0.columns) }
        loadedAt = clock.now()
    }

    private func loadPrivateKey(kid: String) async throws -> RSAKey {
        let rows = try await database.query(
            "SELECT kid, private_key_sealed, kek_fingerprint FROM signing_keys WHERE kid = \(kid)")
        guard let row = rows.first else { throw OAuthError.serverError(debug: "signing key \(kid) vanished") }
        let sealed = try SealedKeyRow(columns: row.columns)
        guard sealed.fingerprint == kek.fingerprint else {
            throw SigningKeyError.wrongKeyEncryptionKey(kid: kid, expected: sealed.fingerprint, actual: kek.fingerprint)
        }
        let der = try kek.open(sealed.sealed, associatedData: Array(kid.utf8))
        return try RSAKey(privateKeyDER: der)
    }

    /// On a fresh database (no `signing_keys` table yet, so certainly no key), a task that
    /// generates the first key while the caller migrates; nil otherwise. An RSA-2048 key takes
    /// 130–450 ms to generate here, about as long as migrating a fresh database (240 ms), and
    /// both stood between a first start and its first `/readyz` (issue 14: ready under 1 s).
    func firstKeyCandidate() async throws -> Task<RSAKey, any Error>? {
        let rows = try await database.query("SELECT to_regclass('signing_keys') IS NULL AS fresh")
        guard try rows.first?.decode(Bool.self) == true else { return nil }
        let bits = self.bits
        return Task.detached(priority: .userInitiated) { try RSAKey.generate(bits: bits) }
    }

    @discardableResult
    private static func insertNewKey(_ connection: PostgresConnection, kek: KeyEncryptionKey, bits: Int,
                                     signsFrom: Date, key candidate: RSAKey? = nil) async throws -> String {
        let key = try candidate ?? RSAKey.generate(bits: bits)
        let jwk = try key.publicJWK()
        let kid = try key.thumbprint()
        // The kid is bound into the ciphertext, so a sealed key cannot be swapped onto another row.
        let sealed = try kek.seal(try key.privateKeyDER(), associatedData: Array(kid.utf8))
        let jwkText = String(decoding: try JSONEncoder().encode(jwk), as: UTF8.self)
        _ = try await connection.query("""
            INSERT INTO signing_keys (kid, public_jwk, private_key_sealed, kek_fingerprint, signs_from)
            VALUES (\(kid), \(jwkText)::jsonb, \(ByteBuffer(bytes: sealed)), \(kek.fingerprint), \(signsFrom))
            """, logger: connection.logger)
        return kid
    }

    static let lockKey: Int64 = 0x6B65_7973  // "keys"
}

enum SigningKeyError: Error, CustomStringConvertible {
    case wrongKeyEncryptionKey(kid: String, expected: String, actual: String)
    case unknownKey(kid: String)
    var description: String {
        switch self {
        case .unknownKey(let kid):
            return "no signing key with kid \(kid) (see AuthServer keys list)"
        case .wrongKeyEncryptionKey(let kid, let expected, let actual):
            return "signing key \(kid) was sealed with key-encryption key \(expected), but the configured key is \(actual): check GATEHOUSE_KEK / GATEHOUSE_KEK_FILE"
        }
    }
}
