import Shared
import Testing

@Suite struct HTTPServerSettingsTests {
    @Test func idleTimeoutDefaultsToAMinuteAndRefusesNonsense() throws {
        #expect(try HTTPServerSettings.idleTimeoutSeconds(Environment([:])) == 60)
        #expect(try HTTPServerSettings.idleTimeoutSeconds(Environment(["GATEHOUSE_HTTP_IDLE_TIMEOUT_SECONDS": "5"])) == 5)
        for bad in ["0", "-1", "3601", "soon"] {
            #expect(throws: ConfigurationError.self) {
                try HTTPServerSettings.idleTimeoutSeconds(Environment(["GATEHOUSE_HTTP_IDLE_TIMEOUT_SECONDS": bad]))
            }
        }
    }
}
