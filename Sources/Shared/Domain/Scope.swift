/// A set of scope tokens (RFC 6749 §3.3: "a list of space-delimited, case-sensitive strings").
/// Kept in catalogue order so that the same set always prints the same way.
public struct ScopeSet: Sendable, Hashable, CustomStringConvertible {
    public let tokens: [String]

    /// Parses the wire form. Invalid characters (outside %x21 / %x23-5B / %x5D-7E) are dropped
    /// by `narrowed(to:)` callers; here we only split.
    public init(_ raw: String?) {
        let parts = (raw ?? "").split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        var seen = Set<String>()
        self.tokens = parts.filter { seen.insert($0).inserted }
    }

    public init(tokens: [String]) {
        var seen = Set<String>()
        self.tokens = tokens.filter { seen.insert($0).inserted }
    }

    public var isEmpty: Bool { tokens.isEmpty }
    public var description: String { tokens.joined(separator: " ") }
    public var set: Set<String> { Set(tokens) }

    /// Keeps only the tokens in `allowed`, in `allowed`'s order.
    public func narrowed(to allowed: [String]) -> ScopeSet {
        let mine = set
        return ScopeSet(tokens: allowed.filter { mine.contains($0) })
    }

    public func isSubset(of other: ScopeSet) -> Bool { set.isSubset(of: other.set) }
    public func contains(_ token: String) -> Bool { tokens.contains(token) }
}
