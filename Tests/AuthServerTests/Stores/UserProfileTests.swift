import Foundation
import Testing
@testable import AuthServer

/// The operator-set OpenID Connect claims: their validation and how a change applies.
@Suite struct UserProfileTests {
    @Test(arguments: ["a@example.com", "first.last+tag@sub.example.co.uk", "X_Y@Example.COM", "  pad@example.com  "])
    func acceptsAddresses(_ address: String) throws {
        #expect(try UserProfile.validatedEmail(address) == address.trimmingCharacters(in: .whitespaces))
    }

    @Test(arguments: ["plain", "a@b", "@example.com", "a@@example.com", "a@b@example.com", "a b@example.com",
                      "a@exa mple.com", "a@-x.com", "a@x-.com", "a@.com", "a@x..com", ".a@example.com", "a.@example.com",
                      "a..b@example.com", "a<b>@example.com", "a\u{0}@example.com", "a@example.com\n",
                      String(repeating: "x", count: 65) + "@example.com",
                      "a@" + String(repeating: "x", count: 250) + ".com"])
    func refusesNonAddresses(_ address: String) {
        #expect(throws: UserStoreError.self) { try UserProfile.validatedEmail(address) }
    }

    @Test func emptyMeansRemove() throws {
        #expect(try UserProfile.validatedEmail("") == nil)
        #expect(try UserProfile.validatedName("  ") == nil)
        #expect(throws: UserStoreError.invalidName("must not contain control characters")) {
            try UserProfile.validatedName("a\u{7}b")
        }
        #expect(throws: UserStoreError.self) { try UserProfile.validatedName(String(repeating: "n", count: 201)) }
    }

    @Test("A changed or removed address loses its verification unless the change vouches again")
    func verificationFollowsTheAddress() {
        let user = User(id: UUID(), username: "u", disabled: false, createdAt: Date(),
                        email: "old@example.com", emailVerified: true, name: "U")
        let keep = UserProfile(name: "New").applied(to: user, email: nil, name: .some("New"))
        #expect(keep.email == "old@example.com" && keep.emailVerified && keep.name == "New")
        let changed = UserProfile(email: "new@example.com").applied(to: user, email: .some("new@example.com"), name: nil)
        #expect(changed.email == "new@example.com" && !changed.emailVerified && changed.name == "U")
        let vouched = UserProfile(email: "new@example.com", emailVerified: true)
            .applied(to: user, email: .some("new@example.com"), name: nil)
        #expect(vouched.emailVerified)
        let removed = UserProfile(email: "", emailVerified: true).applied(to: user, email: .some(nil), name: .some(nil))
        #expect(removed.email == nil && !removed.emailVerified && removed.name == nil)
        let unvouched = UserProfile(emailVerified: false).applied(to: user, email: nil, name: nil)
        #expect(unvouched.email == "old@example.com" && !unvouched.emailVerified)
    }
}
