/// The in-memory set of revoked access-token IDs and revoked signing keys, fed from
/// `revoked_access_tokens` and `revoked_signing_keys`.
///
/// Rows are read by `seq > highest seen`. A `bigserial` is assigned when a row is inserted, not when
/// its transaction commits, so a slow transaction can make seq 41 visible after seq 42 has been
/// read. Reading only `seq > 42` would then miss 41 for ever, letting a revoked token through. So
/// every gap below the highest seq is remembered, as a range, and asked for again until it fills.
///
/// A gap is given up only when it can no longer matter: a row in it revokes tokens that existed
/// when its sequence value was allocated, which was before the gap was noticed (a higher value had
/// already committed). Such a token expires at most one access-token lifetime after that, and from
/// then on the validator refuses it as expired (its `exp − iat` is capped at the same lifetime).
/// So a gap is kept for `gapLifetime` = lifetime + leeway (+ a margin) after it was noticed, with
/// no bound on how many values it spans; values that are never committed (rollback,
/// `ON CONFLICT DO NOTHING`) cost one range each until then. Time is the injected clock's
/// (seconds since 1970). A pure value type, so this bookkeeping is unit-tested without a database.
struct RevocationLedger: Sendable {
    struct Row: Sendable, Equatable {
        var seq: Int64
        var jti: String
        /// Seconds since 1970.
        var expiresAt: Int
    }

    /// Sequence values `lower...upper` not seen yet, noticed at `noticedAt` (seconds since 1970).
    struct Gap: Sendable, Equatable {
        var lower: Int64
        var upper: Int64
        var noticedAt: Int
    }

    /// jti → expiry (seconds since 1970).
    private(set) var revoked: [String: Int] = [:]
    /// `kid`s of signing keys retired after a compromise: every token they signed is refused.
    private(set) var revokedKeys: Set<String> = []
    private(set) var highestSeq: Int64 = 0
    /// Disjoint, sorted by `lower`, all below `highestSeq`.
    private(set) var gaps: [Gap] = []
    /// Seconds a gap is asked for again; see the type's documentation.
    let gapLifetime: Int

    init(gapLifetime: Int) {
        self.gapLifetime = gapLifetime
    }

    func contains(_ jti: String) -> Bool { revoked[jti] != nil }

    func isKeyRevoked(_ kid: String) -> Bool { revokedKeys.contains(kid) }

    var count: Int { revoked.count }

    /// How many sequence values are still awaited.
    var pendingCount: Int64 { gaps.reduce(0) { $0 + $1.upper - $1.lower + 1 } }

    mutating func record(_ rows: [Row], now: Int) {
        for row in rows.sorted(by: { $0.seq < $1.seq }) {
            revoked[row.jti] = max(revoked[row.jti] ?? row.expiresAt, row.expiresAt)
            if row.seq > highestSeq {
                if row.seq > highestSeq + 1 {
                    gaps.append(Gap(lower: highestSeq + 1, upper: row.seq - 1, noticedAt: now))
                }
                highestSeq = row.seq
            } else {
                fill(row.seq)
            }
        }
    }

    /// A late row arrived: take its value out of the gap holding it, splitting the gap if needed.
    private mutating func fill(_ seq: Int64) {
        // Binary search for the last gap starting at or below `seq`.
        var low = 0, high = gaps.count
        while low < high {
            let middle = (low + high) / 2
            if gaps[middle].lower <= seq { low = middle + 1 } else { high = middle }
        }
        let index = low - 1
        guard index >= 0, gaps[index].upper >= seq else { return }
        let gap = gaps[index]
        var replacement: [Gap] = []
        if gap.lower < seq { replacement.append(Gap(lower: gap.lower, upper: seq - 1, noticedAt: gap.noticedAt)) }
        if seq < gap.upper { replacement.append(Gap(lower: seq + 1, upper: gap.upper, noticedAt: gap.noticedAt)) }
        gaps.replaceSubrange(index...index, with: replacement)
    }

    /// A revocation announced by the AuthServer's NOTIFY before the poll has read its row.
    mutating func recordAnnounced(jti: String, expiresAt: Int) {
        revoked[jti] = max(revoked[jti] ?? expiresAt, expiresAt)
    }

    mutating func recordRevokedKeys(_ kids: some Sequence<String>) {
        revokedKeys.formUnion(kids)
    }

    /// Forgets gaps noticed more than `gapLifetime` ago: any token a row in them could revoke has expired.
    mutating func closeExpiredGaps(now: Int) {
        gaps.removeAll { now - $0.noticedAt > gapLifetime }
    }

    /// Drops tokens that would be refused as expired anyway (`exp` plus the validator's leeway has passed).
    mutating func prune(now: Int, leeway: Int) {
        revoked = revoked.filter { $0.value + leeway >= now }
    }
}
