import Foundation
import NIOCore
import PostgresNIO
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// The refresh grant's fast path (`TokenFamilyStore+UnlockedRefresh`) against the pure
/// `RefreshDecision`, on real PostgreSQL: for every `TokenState` the rows can hold, the one
/// statement that re-checks and writes (`rotateIfStillLive`) rotates exactly when the pure
/// decision says `.rotate`, and writes nothing otherwise (both directions), with the token limit
/// off and on; the unlocked read returns what the locked one does; a spent limit refuses only a
/// live token; and under concurrency exactly one rotation wins and a concurrent revocation is
/// never outrun.
@Suite struct RefreshFastPathTests {
    static let now = Date(timeIntervalSince1970: 1_900_000_000)
    static let grace: TimeInterval = 30
    static let owner = "fastpath-client-a"

    enum Rotation: CaseIterable, Sendable {
        case never, justNow, withinGrace, atGraceEdge, pastGrace, inTheFuture
        /// When the token was rotated, relative to `now`.
        var offset: TimeInterval? {
            switch self {
            case .never: nil
            case .justNow: 0
            case .withinGrace: -5
            case .atGraceEdge: -RefreshFastPathTests.grace
            case .pastGrace: -RefreshFastPathTests.grace - 1
            case .inTheFuture: 5
            }
        }
    }

    enum Expiry: CaseIterable, Sendable {
        case past, exactlyNow, future
        var offset: TimeInterval {
            switch self {
            case .past: -1
            case .exactlyNow: 0
            case .future: 3600
            }
        }
    }

    /// One combination of everything `RefreshDecision.TokenState` holds, plus who presents it.
    struct Case: CustomStringConvertible, Sendable {
        let presenterIsOwner: Bool
        let familyRevoked: Bool
        let rotation: Rotation
        let successorUsed: Bool
        let sealed: Bool
        let expiry: Expiry
        var description: String {
            "owner=\(presenterIsOwner) revoked=\(familyRevoked) rotation=\(rotation) successorUsed=\(successorUsed) "
                + "sealed=\(sealed) expiry=\(expiry)"
        }
    }

    static let allCases: [Case] = {
        var cases: [Case] = []
        for owner in [true, false] {
            for revoked in [false, true] {
                for rotation in Rotation.allCases {
                    for used in [false, true] {
                        for sealed in [false, true] {
                            for expiry in Expiry.allCases {
                                cases.append(Case(presenterIsOwner: owner, familyRevoked: revoked, rotation: rotation,
                                                  successorUsed: used, sealed: sealed, expiry: expiry))
                            }
                        }
                    }
                }
            }
        }
        return cases
    }()

    /// A family and its presented token holding the case's state, written directly.
    struct Planted: Sendable {
        let familyID: UUID
        let hash: [UInt8]
        let rotatedAt: Date?
    }

    static func plant(_ c: Case, userID: UUID = UUID(), database: Database) async throws -> Planted {
        let familyID = UUID()
        let hash = Digest.sha256(SecureRandom.token())
        let revokedAt: Date? = c.familyRevoked ? now.addingTimeInterval(-60) : nil
        _ = try await database.query("""
            INSERT INTO token_families (id, client_id, user_id, scope, resource, revoked_at)
            VALUES (\(familyID), \(owner), \(userID), 'notes:read notes:write', 'http://localhost:8000/mcp', \(revokedAt))
            """)
        // The successor exists once the token was rotated; `successorUsed` is its own rotation.
        // (An unrotated token with a used successor, or with a sealed answer, is no state the
        // grant writes, but `TokenState` can express it, so it is planted too.)
        var successorHash: ByteBuffer?
        if c.rotation != .never || c.successorUsed {
            let successor = Digest.sha256(SecureRandom.token())
            let successorRotated: Date? = c.successorUsed ? now : nil
            _ = try await database.query("""
                INSERT INTO refresh_tokens (token_hash, family_id, scope, expires_at, rotated_at)
                VALUES (\(ByteBuffer(bytes: successor)), \(familyID), 'notes:read notes:write', \(now.addingTimeInterval(7200)),
                        \(successorRotated))
                """)
            successorHash = ByteBuffer(bytes: successor)
        }
        let rotatedAt = c.rotation.offset.map { now.addingTimeInterval($0) }
        let sealed: ByteBuffer? = c.sealed ? ByteBuffer(bytes: [1, 2, 3]) : nil
        _ = try await database.query("""
            INSERT INTO refresh_tokens (token_hash, family_id, scope, expires_at, rotated_at, successor_hash, replay_sealed)
            VALUES (\(ByteBuffer(bytes: hash)), \(familyID), 'notes:read notes:write', \(now.addingTimeInterval(c.expiry.offset)),
                    \(rotatedAt), \(successorHash), \(sealed))
            """)
        return Planted(familyID: familyID, hash: hash, rotatedAt: rotatedAt)
    }

    static func minted() -> (TokenIssuer.AccessToken, TokenIssuer.RefreshToken) {
        (TokenIssuer.AccessToken(token: "unused", jti: SecureRandom.token(byteCount: 16), expiresAt: now.addingTimeInterval(3600)),
         TokenIssuer.RefreshToken(token: SecureRandom.token(), expiresAt: now.addingTimeInterval(7200)))
    }

    static func count(_ database: Database, _ query: PostgresQuery) async throws -> Int {
        try await database.query(query).first?.decode(Int.self) ?? -1
    }

    static func limit(maximum: Int) -> TokenFamilyStore.RotationLimit {
        TokenFamilyStore.RotationLimit(bucket: "token:fastpath-\(UUID())", windowStart: now, maximum: maximum)
    }

    static func counted(_ database: Database, _ limit: TokenFamilyStore.RotationLimit) async throws -> Int {
        try await database.query("SELECT count::int8 FROM rate_limit_counters WHERE bucket = \(limit.bucket)")
            .first?.decode(Int.self) ?? 0
    }

    @Test("for every TokenState, with the token limit off and on: the one statement rotates exactly when RefreshDecision says .rotate, and writes nothing otherwise",
          arguments: [false, true])
    func sqlDecisionEqualsPureDecision(withLimit: Bool) async throws {
        try await TestDatabase.withDatabase { database in
            let store = TokenFamilyStore(database: database)
            let limit = withLimit ? Self.limit(maximum: 1_000_000) : nil
            var rotations = 0, refusals = 0
            for c in Self.allCases {
                let planted = try await Self.plant(c, database: database)
                let found = try #require(try await store.readRefreshToken(hash: planted.hash), "\(c)")
                // The unlocked read is the locked read.
                let locked = try await store.transaction { connection in
                    try await store.lockRefreshToken(hash: planted.hash, connection: connection)
                }
                let state = found.decisionState
                #expect(state.familyRevoked == c.familyRevoked && state.successorUsed == c.successorUsed
                        && state.hasSealedReplay == c.sealed && state.rotatedAt == planted.rotatedAt
                        && state.expiresAt == Self.now.addingTimeInterval(c.expiry.offset)
                        && state.familyClientID == Self.owner, "\(c)")
                #expect(locked?.decisionState.rotatedAt == state.rotatedAt && locked?.familyID == found.familyID
                        && locked?.successorUsed == found.successorUsed && locked?.familyRevoked == found.familyRevoked, "\(c)")

                let presenter = c.presenterIsOwner ? Self.owner : "fastpath-client-b"
                let pure = RefreshDecision.decide(state, clientID: presenter, now: Self.now, grace: Self.grace)
                let (access, successor) = Self.minted()
                let outcome = try await store.rotateIfStillLive(
                    found, presentedHash: planted.hash, clientID: presenter, at: Self.now, access: access,
                    successor: successor, sealedAnswer: [9, 9], limit: limit)
                #expect(outcome == .rotated || outcome == .premisesChanged, "\(c): \(outcome)")
                let rotated = outcome == .rotated
                #expect(rotated == (pure == .rotate), "\(c): SQL rotated=\(rotated), RefreshDecision=\(pure)")

                let accessRows = try await Self.count(database, "SELECT count(*)::int8 FROM access_tokens WHERE jti = \(access.jti)")
                let successorRows = try await Self.count(database,
                    "SELECT count(*)::int8 FROM refresh_tokens WHERE token_hash = \(successor.hash) AND family_id = \(planted.familyID)")
                let after = try #require(try await store.readRefreshToken(hash: planted.hash))
                if rotated {
                    rotations += 1
                    #expect(accessRows == 1 && successorRows == 1, "\(c)")
                    #expect(after.rotatedAt == Self.now && after.replaySealed == [9, 9], "\(c)")
                } else {
                    refusals += 1
                    #expect(accessRows == 0 && successorRows == 0, "\(c): a refused rotation wrote something")
                    #expect(after.rotatedAt == planted.rotatedAt && (after.replaySealed != nil) == c.sealed, "\(c)")
                }
                // The limit's unit is taken by rotations only, as the transactional path takes it after `.rotate`.
                if let limit { #expect(try await Self.counted(database, limit) == rotations, "\(c)") }
            }
            // Both directions were exercised: the live token of its own client (successor flags
            // and sealed answer do not matter before a rotation) and every other state.
            #expect(rotations == 4)
            #expect(refusals == Self.allCases.count - 4)
        }
    }

    @Test("a spent token limit: a live token is refused (the first refusal counted once), nothing is written; a rotated one is not limited")
    func spentLimit() async throws {
        try await TestDatabase.withDatabase { database in
            let store = TokenFamilyStore(database: database)
            let limit = Self.limit(maximum: 1)
            let live = Case(presenterIsOwner: true, familyRevoked: false, rotation: .never, successorUsed: false, sealed: false,
                            expiry: .future)
            let first = try await Self.plant(live, database: database)
            let firstRead = try #require(try await store.readRefreshToken(hash: first.hash))
            let (access, successor) = Self.minted()
            #expect(try await store.rotateIfStillLive(firstRead, presentedHash: first.hash, clientID: Self.owner, at: Self.now,
                                                      access: access, successor: successor, sealedAnswer: [1], limit: limit) == .rotated)
            let second = try await Self.plant(live, database: database)
            let secondRead = try #require(try await store.readRefreshToken(hash: second.hash))
            for expected in [TokenFamilyStore.UnlockedRotation.limited(firstInWindow: true), .limited(firstInWindow: false)] {
                let (access, successor) = Self.minted()
                #expect(try await store.rotateIfStillLive(secondRead, presentedHash: second.hash, clientID: Self.owner,
                                                          at: Self.now, access: access, successor: successor, sealedAnswer: [1],
                                                          limit: limit) == expected)
                #expect(try await Self.count(database, "SELECT count(*)::int8 FROM access_tokens WHERE jti = \(access.jti)") == 0)
                #expect(try await store.readRefreshToken(hash: second.hash)?.rotatedAt == nil)
            }
            #expect(try await Self.counted(database, limit) == 2)
            // The first token, rotated now: a retry is no rotation, so the spent limit does not answer it.
            let (access2, successor2) = Self.minted()
            #expect(try await store.rotateIfStillLive(firstRead, presentedHash: first.hash, clientID: Self.owner, at: Self.now,
                                                      access: access2, successor: successor2, sealedAnswer: [1],
                                                      limit: limit) == .premisesChanged)
            #expect(try await Self.counted(database, limit) == 2)
        }
    }

    @Test("an unknown token, and a token of a disabled user (its families revoked), never rotate")
    func unknownTokenAndDisabledUser() async throws {
        try await TestDatabase.withDatabase { database in
            let store = TokenFamilyStore(database: database)
            let live = Case(presenterIsOwner: true, familyRevoked: false, rotation: .never, successorUsed: false, sealed: false,
                            expiry: .future)
            let planted = try await Self.plant(live, database: database)
            let found = try #require(try await store.readRefreshToken(hash: planted.hash))
            let unknown = Digest.sha256(SecureRandom.token())
            #expect(try await store.readRefreshToken(hash: unknown) == nil)
            #expect(RefreshDecision.decide(nil, clientID: Self.owner, now: Self.now, grace: Self.grace)
                    == .refuse("the refresh token is invalid"))
            let (access, successor) = Self.minted()
            #expect(try await store.rotateIfStillLive(found, presentedHash: unknown, clientID: Self.owner, at: Self.now,
                                                     access: access, successor: successor, sealedAnswer: [1]) == .premisesChanged)

            let users = UserStore(database: database, hasher: PasswordHasher(parameters: .init(logN: 4, r: 8, p: 1)))
            let user = try await users.create(username: TestDatabase.uniqueName("fastpath"), password: "correct horse battery")
            let mine = try await Self.plant(live, userID: user.id, database: database)
            let read = try #require(try await store.readRefreshToken(hash: mine.hash))
            #expect(RefreshDecision.decide(read.decisionState, clientID: Self.owner, now: Self.now, grace: Self.grace) == .rotate)
            #expect(try await users.setDisabled(user.username, true))
            // Decided from the read before the user was disabled: the statement re-checks and refuses.
            let (access2, successor2) = Self.minted()
            #expect(try await store.rotateIfStillLive(read, presentedHash: mine.hash, clientID: Self.owner, at: Self.now,
                                                     access: access2, successor: successor2, sealedAnswer: [1]) == .premisesChanged)
            let now = try #require(try await store.readRefreshToken(hash: mine.hash))
            #expect(RefreshDecision.decide(now.decisionState, clientID: Self.owner, now: Self.now, grace: Self.grace)
                    == .refuse("the refresh token has been revoked"))
        }
    }

    @Test("50 concurrent rotations of one token, all decided from the same unlocked read: exactly one writes, and takes the one unit",
          arguments: [false, true])
    func concurrentRotationsOneWinner(withLimit: Bool) async throws {
        try await TestDatabase.withDatabase { database in
            let store = TokenFamilyStore(database: database)
            let limit = withLimit ? Self.limit(maximum: 1_000) : nil
            let live = Case(presenterIsOwner: true, familyRevoked: false, rotation: .never, successorUsed: false, sealed: false,
                            expiry: .future)
            let planted = try await Self.plant(live, database: database)
            let found = try #require(try await store.readRefreshToken(hash: planted.hash))
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        let (access, successor) = Self.minted()
                        return try await store.rotateIfStillLive(found, presentedHash: planted.hash, clientID: Self.owner,
                                                                 at: Self.now, access: access, successor: successor,
                                                                 sealedAnswer: [7], limit: limit) == .rotated
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(wins == 1)
            #expect(try await Self.count(database, "SELECT count(*)::int8 FROM refresh_tokens WHERE family_id = \(planted.familyID)") == 2)
            #expect(try await Self.count(database, "SELECT count(*)::int8 FROM access_tokens WHERE family_id = \(planted.familyID)") == 1)
            if let limit { #expect(try await Self.counted(database, limit) == 1) }
        }
    }

    @Test("a rotation racing a family revocation: either it loses, or its access token is among the revoked ones")
    func rotationRacingRevocation() async throws {
        try await TestDatabase.withDatabase { database in
            let store = TokenFamilyStore(database: database)
            let live = Case(presenterIsOwner: true, familyRevoked: false, rotation: .never, successorUsed: false, sealed: false,
                            expiry: .future)
            for _ in 0..<20 {
                let planted = try await Self.plant(live, database: database)
                let found = try #require(try await store.readRefreshToken(hash: planted.hash))
                let (access, successor) = Self.minted()
                async let rotated = store.rotateIfStillLive(found, presentedHash: planted.hash, clientID: Self.owner,
                                                            at: Self.now, access: access, successor: successor, sealedAnswer: [7])
                async let revoked: Void = store.transaction { connection in
                    try await store.revokeFamily(planted.familyID, reason: "test", connection: connection)
                }
                let won = try await rotated == .rotated
                try await revoked
                let listed = try await Self.count(database,
                    "SELECT count(*)::int8 FROM revoked_access_tokens WHERE jti = \(access.jti)")
                #expect(!won || listed == 1, "a rotation committed beside a revocation and its access token was not revoked")
            }
        }
    }
}
