/// The in-memory set of revoked access-token IDs, fed from `revoked_access_tokens`.
///
/// Rows are read by `seq > highest seen`. A `bigserial` is assigned when a row is inserted, not when
/// its transaction commits, so a slow transaction can make seq 41 visible after seq 42 has been
/// read. Reading only `seq > 42` would then miss 41 for ever, letting a revoked token through. So
/// every hole below the highest seq is remembered and asked for again until it appears or is old
/// enough to be a sequence value that was never committed (rollback, `ON CONFLICT DO NOTHING`).
/// A pure value type, so this bookkeeping is unit-tested without a database.
struct RevocationLedger: Sendable {
    struct Row: Sendable, Equatable {
        var seq: Int64
        var jti: String
        /// Seconds since 1970.
        var expiresAt: Int
    }

    /// jti → expiry (seconds since 1970).
    private(set) var revoked: [String: Int] = [:]
    private(set) var highestSeq: Int64 = 0
    /// Holes below `highestSeq`, with the time they were first noticed.
    private(set) var holes: [Int64: ContinuousClock.Instant] = [:]

    /// How long a hole is asked for again. Far longer than any AS transaction that inserts a row.
    static let holeLifetime: Duration = .seconds(10)
    /// Holes remembered per jump in `seq`, and in total: bounds memory and the size of the re-query.
    static let maximumHolesPerJump: Int64 = 1_000
    static let maximumHoles = 10_000

    func contains(_ jti: String) -> Bool { revoked[jti] != nil }

    var count: Int { revoked.count }

    /// The seqs to ask for again, oldest first.
    var pendingHoles: [Int64] { holes.keys.sorted() }

    mutating func record(_ rows: [Row], at instant: ContinuousClock.Instant) {
        for row in rows.sorted(by: { $0.seq < $1.seq }) {
            revoked[row.jti] = max(revoked[row.jti] ?? row.expiresAt, row.expiresAt)
            if row.seq > highestSeq {
                let firstHole = max(highestSeq + 1, row.seq - Self.maximumHolesPerJump)
                if firstHole < row.seq, holes.count < Self.maximumHoles {
                    for hole in firstHole..<row.seq where holes.count < Self.maximumHoles {
                        holes[hole] = instant
                    }
                }
                highestSeq = row.seq
            } else {
                holes[row.seq] = nil
            }
        }
    }

    /// A revocation announced by the AuthServer's NOTIFY before the poll has read its row.
    mutating func recordAnnounced(jti: String, expiresAt: Int) {
        revoked[jti] = max(revoked[jti] ?? expiresAt, expiresAt)
    }

    /// Forgets holes that have been open longer than `holeLifetime`.
    mutating func closeOldHoles(at instant: ContinuousClock.Instant) {
        holes = holes.filter { instant - $0.value < Self.holeLifetime }
    }

    /// Drops tokens that would be refused as expired anyway (`exp` plus the validator's leeway has passed).
    mutating func prune(now: Int, leeway: Int) {
        revoked = revoked.filter { $0.value + leeway >= now }
    }
}
