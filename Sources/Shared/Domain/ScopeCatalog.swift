/// The one source of truth for the scopes Gatehouse knows. The authorization server advertises
/// and grants these; the resource server's tools declare which of them they need.
///
/// Two kinds: the MCP resource's own scopes (`names`, what tools check and what the resource
/// server advertises), and the OpenID Connect scopes (`identityNames`), which ask the
/// authorization server for an ID token and userinfo claims and mean nothing to the resource
/// server. An access token carries every granted scope; the resource server ignores the ones its
/// tools do not need, and `/userinfo` needs `openid`.
public enum ScopeCatalog {
    public struct Entry: Sendable {
        public let name: String
        /// Plain words for the consent page.
        public let consentText: String

        public init(name: String, consentText: String) {
            self.name = name
            self.consentText = consentText
        }
    }

    public static let notesRead = "notes:read"
    public static let notesWrite = "notes:write"

    /// OpenID Connect Core §3.1.2.1: "OpenID Connect requests MUST contain the openid scope value."
    public static let openID = "openid"
    /// OpenID Connect Core §5.4: `profile` asks for name claims, `email` for email and email_verified.
    public static let profile = "profile"
    public static let email = "email"

    /// The MCP resource's scopes.
    public static let entries: [Entry] = [
        Entry(name: notesRead, consentText: "Read your notes"),
        Entry(name: notesWrite, consentText: "Create and delete your notes"),
    ]

    /// The OpenID Connect scopes the authorization server grants.
    public static let identityEntries: [Entry] = [
        Entry(name: openID, consentText: "Know who you are on this server (your account ID)"),
        Entry(name: profile, consentText: "See your name and username"),
        Entry(name: email, consentText: "See your email address"),
    ]

    /// The MCP resource's scope names: the resource server's `scopes_supported`, and the default
    /// grant of a client that asks for nothing.
    public static var names: [String] { entries.map(\.name) }

    public static var identityNames: [String] { identityEntries.map(\.name) }

    /// Everything the authorization server may grant, and advertises in its `scopes_supported`.
    public static var grantableNames: [String] { identityNames + names }

    public static func consentText(for scope: String) -> String {
        (identityEntries + entries).first { $0.name == scope }?.consentText ?? scope
    }
}
