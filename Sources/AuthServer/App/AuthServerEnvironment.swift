import Foundation
import Logging
import Shared

/// The collaborators `buildAuthServer` creates once and hands, each by name, to the endpoints
/// that use them (no endpoint or grant takes this whole value); tests read stores from it.
struct AuthServerEnvironment: Sendable {
    let configuration: AuthServerConfiguration
    let database: Database
    let clock: Clock
    let logger: Logger
    let clients: ClientStore
    /// Finds a client for the flows: registered, or by its metadata document URL.
    let clientResolver: ClientResolver
    /// Verifies `private_key_jwt` client assertions (one JWKS cache per process).
    let clientAssertions: ClientAssertionVerifier
    let users: UserStore
    let keys: SigningKeyStore
    let audit: AuditLog
    let throttle: LoginThrottle
    let tokens: TokenIssuer
    let metrics: AuthMetrics

    var issuer: String { configuration.issuer }

    /// Where a URL of ours is: `issuer + path`.
    func endpoint(_ path: String) -> String { issuer + path }
}
