import Foundation
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// Issue 12: disabling a user deletes their connection tokens, in the disable's transaction.
@Suite struct UserConnectionDisableTests {
    @Test func disablingAUserDeletesTheirConnections() async throws {
        try await TestAuthServer.run { server in
            let user = try await server.createUser(prefix: "conn-disabled")
            let store = UserConnectionStore(database: server.environment.database,
                                            seal: ConnectionTokenSeal(kek: server.environment.configuration.keyEncryptionKey))
            try await store.save(userID: user.id, connectionID: "crm", tokens: ConnectionTokens(
                accessToken: "at", refreshToken: "rt", expiresAt: nil, scopes: ""), now: Date())
            #expect(try await store.summaries(userID: user.id).count == 1)
            #expect(try await server.environment.users.setDisabled(user.username, true))
            #expect(try await store.summaries(userID: user.id).isEmpty)
        }
    }
}
