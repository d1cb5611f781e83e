import Foundation
import Testing
@testable import Shared

/// Connection tokens sealed under the KEK, bound to (column, user, connection).
@Suite struct ConnectionTokenSealTests {
    let seal = ConnectionTokenSeal(kek: KeyEncryptionKey.generate())
    let user = UUID()

    @Test func roundTrip() throws {
        let sealed = try seal.seal("at-secret-value", .accessToken, userID: user, connectionID: "ownerrez")
        #expect(!String(decoding: sealed, as: UTF8.self).contains("at-secret-value"))
        #expect(try seal.open(sealed, .accessToken, userID: user, connectionID: "ownerrez") == "at-secret-value")
    }

    @Test func anotherUserConnectionOrColumnDoesNotOpen() throws {
        let sealed = try seal.seal("at-secret-value", .accessToken, userID: user, connectionID: "ownerrez")
        #expect(throws: KeyEncryptionError.authenticationFailed) {
            try seal.open(sealed, .accessToken, userID: UUID(), connectionID: "ownerrez")
        }
        #expect(throws: KeyEncryptionError.authenticationFailed) {
            try seal.open(sealed, .accessToken, userID: user, connectionID: "crm")
        }
        #expect(throws: KeyEncryptionError.authenticationFailed) {
            try seal.open(sealed, .refreshToken, userID: user, connectionID: "ownerrez")
        }
        let other = ConnectionTokenSeal(kek: KeyEncryptionKey.generate())
        #expect(throws: KeyEncryptionError.authenticationFailed) {
            try other.open(sealed, .accessToken, userID: user, connectionID: "ownerrez")
        }
    }

    @Test func tokensPrintRedacted() {
        let tokens = ConnectionTokens(accessToken: "at-secret", refreshToken: "rt-secret", expiresAt: nil, scopes: "")
        #expect(!"\(tokens)".contains("secret"))
        #expect(!String(reflecting: tokens).contains("secret"))
    }
}
