import Shared
import Testing

/// `RedirectURIPolicy.matches`: exact string comparison, except the port of a loopback http
/// redirect (RFC 8252 §7.3). Found while writing the FuzzRedirectURI harness (docs/testing.md "Fuzzing"):
/// the loopback case compared decoded paths and ignored credentials and case, so URIs that are
/// not the registered one once the port is removed matched it.
@Suite struct RedirectURIPolicyTests {
    @Test("RFC 8252 §7.3: a loopback redirect matches with any port, and otherwise only exactly")
    func loopbackMatchesOnlyByPort() {
        let registered = ["http://127.0.0.1/callback", "http://localhost:3000/cb?x=1", "http://[::1]/cb", "http://127.0.0.1:33418"]
        for requested in ["http://127.0.0.1:53682/callback", "http://localhost/cb?x=1", "http://localhost:9/cb?x=1",
                          "http://[::1]:8080/cb", "http://127.0.0.1:5000", "http://127.0.0.1/callback"] {
            #expect(RedirectURIPolicy.matches(requested, registered: registered), "\(requested)")
        }
        for requested in ["http://127.0.0.1:1/c%61llback", "http://user:pw@127.0.0.1:1/callback", "http://127.0.0.1:1/callback#x",
                          "HTTP://127.0.0.1:1/callback", "http://LOCALHOST:1/cb?x=1", "http://127.0.0.1:1/callback/",
                          "http://127.0.0.1:1/callback?", "http://localhost:1/cb?x=%31", "http://127.0.0.2:1/callback",
                          "https://127.0.0.1:1/callback"] {
            #expect(!RedirectURIPolicy.matches(requested, registered: registered), "\(requested)")
        }
    }

    @Test("https and private-use redirects match only exactly")
    func othersMatchExactly() {
        let registered = ["https://app.example.com/callback", "cursor://anysphere.cursor-mcp/oauth/callback"]
        #expect(RedirectURIPolicy.matches("https://app.example.com/callback", registered: registered))
        for requested in ["https://app.example.com:443/callback", "https://APP.example.com/callback",
                          "cursor://anysphere.cursor-mcp:1/oauth/callback", "https://app.example.com/callback?"] {
            #expect(!RedirectURIPolicy.matches(requested, registered: registered), "\(requested)")
        }
    }
}
