import Foundation
import Hummingbird
import Shared

/// One grant type of the token endpoint. The endpoint dispatches through the dictionary built
/// in `TokenEndpoint.grants`.
protocol Grant: Sendable {
    static var grantType: String { get }
    func handle(form: FormBody, client: Client, context: AuthRequestContext) async throws -> TokenResponse
}

/// What a grant's transaction decided. A refusal is returned, not thrown, so that what it wrote
/// (a burnt code, a revoked family) commits instead of rolling back with the error.
enum GrantOutcome: Sendable {
    case issued(TokenResponse)
    case refused(OAuthError)

    func response() throws -> TokenResponse {
        switch self {
        case .issued(let response): return response
        case .refused(let error): throw error
        }
    }
}

/// RFC 7636 §4.1: code_verifier = 43*128unreserved.
func isValidCodeVerifier(_ verifier: String) -> Bool {
    (43...128).contains(verifier.utf8.count) && verifier.utf8.allSatisfy { byte in
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
            || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
    }
}

/// The `resource` parameter of a token request must name the resource the grant is for (RFC 8707 §2.2).
func checkRequestedResource(_ form: FormBody, grantedResource: String) throws {
    for value in form.values["resource"] ?? [] {
        guard let canonical = ResourceIdentifier(value), canonical.value == grantedResource else {
            throw OAuthError(.invalidTarget, "the resource does not match the grant")
        }
    }
}
