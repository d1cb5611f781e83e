import Foundation

/// The optional OpenID Connect claims an operator sets on a user (`users create` / `users update`):
/// `email`, `email_verified` and `name` (OpenID Connect Core §5.1). Each field: nil leaves the
/// stored value alone, an empty string removes it.
struct UserProfile: Sendable, Equatable {
    var email: String?
    var name: String?
    /// nil: a new address starts unverified and an unchanged one keeps its state.
    var emailVerified: Bool?

    init(email: String? = nil, name: String? = nil, emailVerified: Bool? = nil) {
        self.email = email
        self.name = name
        self.emailVerified = emailVerified
    }

    static let maxEmailLength = 254
    static let maxNameLength = 200

    /// A shape check, not RFC 5321 in full: `local@domain`, one `@`, no spaces or control
    /// characters, a dotted domain of letters, digits and hyphens. Ownership cannot be checked
    /// here; `email_verified` says whether the operator vouches for it. "" means "remove".
    static func validatedEmail(_ raw: String) throws(UserStoreError) -> String? {
        let email = raw.trimmingCharacters(in: .whitespaces)
        guard !email.isEmpty else { return nil }
        guard email.utf8.count <= maxEmailLength else { throw .invalidEmail("must be at most \(maxEmailLength) bytes") }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64 else {
            throw .invalidEmail("must look like name@example.com")
        }
        let forbiddenLocal = Set("()<>[]\\,;:\"")
        guard parts[0].unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }),
              !parts[0].contains(where: forbiddenLocal.contains),
              !parts[0].hasPrefix("."), !parts[0].hasSuffix("."), !parts[0].contains("..")
        else { throw .invalidEmail("the part before @ has characters an address cannot have") }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        let labelCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
        guard labels.count >= 2, labels.allSatisfy({ label in
            (1...63).contains(label.count) && label.allSatisfy(labelCharacters.contains)
                && !label.hasPrefix("-") && !label.hasSuffix("-")
        }) else { throw .invalidEmail("the domain must look like example.com") }
        return email
    }

    /// A display name: up to 200 characters, no control characters. "" means "remove".
    static func validatedName(_ raw: String) throws(UserStoreError) -> String? {
        let name = raw.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { return nil }
        guard name.count <= maxNameLength else { throw .invalidName("must be at most \(maxNameLength) characters") }
        guard !name.unicodeScalars.contains(where: { CharacterSet.controlCharacters.contains($0) }) else {
            throw .invalidName("must not contain control characters")
        }
        return name
    }

    /// The user after this change. `email` and `name` are the validated values (nil: not given;
    /// `.some(nil)`: remove). An address that changes, or is removed, loses its verification
    /// unless the same change vouches for it again.
    func applied(to user: User, email: String??, name: String??) -> User {
        let newEmail: String? = switch email {
        case .none: user.email
        case .some(let value): value
        }
        let newName: String? = switch name {
        case .none: user.name
        case .some(let value): value
        }
        let verified: Bool
        if newEmail == nil {
            verified = false
        } else if let emailVerified {
            verified = emailVerified
        } else {
            verified = newEmail == user.email && user.emailVerified
        }
        return User(id: user.id, username: user.username, disabled: user.disabled, createdAt: user.createdAt,
                    email: newEmail, emailVerified: verified, name: newName)
    }
}
