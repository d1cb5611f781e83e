import Foundation
import Shared
import Testing

/// MCP 2025-11-25 (Client: Elicitation, Phishing): the connect link of a URL-mode elicitation is
/// bound to the user it was made for, and any change to it (user, connection, expiry) fails.
@Suite("Connect link binding")
struct ConnectLinkBindingTests {
    static let now = Date(timeIntervalSince1970: 1_900_000_000)
    let kek = KeyEncryptionKey.generate()
    let user = UUID()

    @Test func aTokenVerifiesForItsUserAndConnectionOnly() throws {
        let links = ConnectLinkBinding(kek: kek)
        let token = try links.token(userID: user, connectionID: "acme", now: Self.now)
        #expect(links.verify(token, userID: user, connectionID: "acme", now: Self.now) == .valid)
        #expect(links.verify(token, userID: UUID(), connectionID: "acme", now: Self.now) == .invalid)
        #expect(links.verify(token, userID: user, connectionID: "crm", now: Self.now) == .invalid)
        #expect(ConnectLinkBinding(kek: .generate()).verify(token, userID: user, connectionID: "acme", now: Self.now) == .invalid)
        // Unique per link (the id of its elicitation), and it names nobody.
        #expect(try links.token(userID: user, connectionID: "acme", now: Self.now) != token)
        #expect(!token.lowercased().contains(user.uuidString.lowercased().prefix(8)))
    }

    @Test func itExpiresAfterItsLifetimeAndTheExpiryCannotBeMoved() throws {
        let links = ConnectLinkBinding(kek: kek)
        let token = try links.token(userID: user, connectionID: "acme", now: Self.now)
        let later = Self.now.addingTimeInterval(ConnectLinkBinding.lifetime + 1)
        #expect(links.verify(token, userID: user, connectionID: "acme", now: Self.now.addingTimeInterval(ConnectLinkBinding.lifetime - 1)) == .valid)
        #expect(links.verify(token, userID: user, connectionID: "acme", now: later) == .expired)
        var bytes = try #require(Base64URL.decode(token))
        bytes[7] &+= 100  // a later expiry
        #expect(links.verify(Base64URL.encode(bytes), userID: user, connectionID: "acme", now: later) == .invalid)
    }

    @Test("malformed tokens are invalid, never a crash", arguments: ["", "!!", "AAAA", String(repeating: "A", count: 60)])
    func malformed(token: String) {
        #expect(ConnectLinkBinding(kek: kek).verify(token, userID: user, connectionID: "acme", now: Self.now) == .invalid)
    }
}
