/// The one source of truth for the scopes Gatehouse knows. The authorization server advertises
/// and grants these; the resource server's tools declare which of them they need.
public enum ScopeCatalog {
    public struct Entry: Sendable {
        public let name: String
        /// Plain words for the consent page.
        public let consentText: String
    }

    public static let notesRead = "notes:read"
    public static let notesWrite = "notes:write"

    public static let entries: [Entry] = [
        Entry(name: notesRead, consentText: "Read your notes"),
        Entry(name: notesWrite, consentText: "Create and delete your notes"),
    ]

    public static var names: [String] { entries.map(\.name) }

    public static func consentText(for scope: String) -> String {
        entries.first { $0.name == scope }?.consentText ?? scope
    }
}
