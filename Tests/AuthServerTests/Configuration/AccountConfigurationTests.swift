import Foundation
import Shared
import Testing
@testable import AuthServer

/// `GATEHOUSE_API_KEYS` on the AuthServer: the account page's keys section follows it.
@Suite struct AccountConfigurationTests {
    private func configuration(_ overrides: [String: String]) throws -> AuthServerConfiguration {
        try AuthServerConfiguration(environment: Environment(AuthServerConfigurationTests.base.merging(overrides) { $1 }))
    }

    @Test("GATEHOUSE_API_KEYS: on by default, false switches the account page's keys off, a bad value names the variable")
    func apiKeys() throws {
        #expect(try configuration([:]).apiKeysEnabled)
        #expect(try configuration(["GATEHOUSE_API_KEYS": "false"]).apiKeysEnabled == false)
        let error = #expect(throws: ConfigurationError.self) { try configuration(["GATEHOUSE_API_KEYS": "maybe"]) }
        #expect(error?.variable == "GATEHOUSE_API_KEYS")
    }
}
