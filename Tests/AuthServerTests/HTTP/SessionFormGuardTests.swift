import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Shared
import Testing
@testable import AuthServer

/// The account page's CSRF check (SessionFormGuard) as a pure function, and the page's formatting.
@Suite struct SessionFormGuardTests {
    let guardian = SessionFormGuard(issuer: "https://auth.example.com")

    func post(_ headers: HTTPFields = [:]) -> Request {
        Request(head: HTTPRequest(method: .post, scheme: "https", authority: "auth.example.com", path: "/logout",
                                  headerFields: headers),
                body: RequestBody(buffer: ByteBuffer()))
    }

    @Test("The token is bound to the cookie and the purpose, and only it passes")
    func tokenBinding() {
        let token = SessionFormGuard.token(.session, secret: "cookie-a")
        #expect(token.count == 43 && !token.contains("cookie"))
        #expect(token == SessionFormGuard.token(.session, secret: "cookie-a"))
        #expect(token != SessionFormGuard.token(.session, secret: "cookie-b"))
        #expect(token != SessionFormGuard.token(.signIn, secret: "cookie-a"))
        #expect(guardian.allows(post(), purpose: .session, secret: "cookie-a", submitted: token))
        #expect(!guardian.allows(post(), purpose: .session, secret: "cookie-b", submitted: token))
        #expect(!guardian.allows(post(), purpose: .signIn, secret: "cookie-a", submitted: token))
        #expect(!guardian.allows(post(), purpose: .session, secret: nil, submitted: token))
        #expect(!guardian.allows(post(), purpose: .session, secret: "cookie-a", submitted: nil))
        #expect(!guardian.allows(post(), purpose: .session, secret: "cookie-a", submitted: token + "x"))
    }

    @Test("Fetch metadata: our origin, `null` (no-referrer pages) and none pass; another site does not, even with the token")
    func origins() {
        let token = SessionFormGuard.token(.session, secret: "c")
        let origin = HTTPField.Name.origin
        let site = HTTPField.Name.secFetchSite
        for passing: HTTPFields in [[:], [origin: "https://auth.example.com"], [origin: "HTTPS://AUTH.EXAMPLE.COM"],
                                    [origin: "null"], [site: "same-origin"], [site: "none"]] {
            #expect(guardian.allows(post(passing), purpose: .session, secret: "c", submitted: token), "\(passing)")
        }
        for refused: HTTPFields in [[origin: "https://evil.example"], [origin: "https://auth.example.com:8443"],
                                    [origin: "http://auth.example.com"], [site: "cross-site"], [site: "same-site"],
                                    [origin: "null", site: "cross-site"]] {
            #expect(!guardian.allows(post(refused), purpose: .session, secret: "c", submitted: token), "\(refused)")
        }
        #expect(SessionFormGuard(issuer: "http://127.0.0.1:9000").origin == "http://127.0.0.1:9000")
        #expect(SessionFormGuard(issuer: "https://example.com/auth").origin == "https://example.com")
    }

    @Test("Each app says how it is known: verified domain (metadata document), registered itself, added by your administrator")
    func appKinds() throws {
        let now = Date(timeIntervalSince1970: 1_796_154_200)
        func grant(_ clientID: String, _ kind: String?) -> UserGrantStore.Grant {
            UserGrantStore.Grant(clientID: clientID, clientName: nil, resource: "http://localhost:8000/mcp", scope: "notes:read notes:write",
                                 families: 1, firstUse: now, lastUse: now, registrationKind: kind)
        }
        let page = AccountPage(
            username: "u", csrfToken: "t",
            grants: [grant("https://chatgpt.com/oauth/client.json", "metadata_document"), grant("dyn-1", "dynamic"),
                     grant("cursor", "preregistered"), grant("dyn-1", "dynamic")],
            keys: nil, sessions: [],
            resources: ProtectedResourceCatalog(file: nil, mcpResource: ResourceIdentifier("http://localhost:8000/mcp")!),
            notice: nil, now: now)
        let apps = try #require(page.values["apps"] as? [[String: Any]])
        #expect(apps.count == 3, "one entry per client")
        #expect(apps[0]["verifiedDomain"] as? String == "chatgpt.com" && apps[0]["name"] as? String == "https://chatgpt.com/oauth/client.json")
        #expect(apps[1]["registeredItself"] as? Bool == true && (apps[1]["grants"] as? [Any])?.count == 2)
        #expect(apps[2]["byAdministrator"] as? Bool == true)
        #expect(page.values["keysEnabled"] as? Bool == false && page.values["keys"] == nil)
        #expect(AccountPage.notices["<script>"] == nil)
    }

    @Test("Devices and times as the page shows them; a User-Agent is clipped and cleaned")
    func formatting() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
        #expect(AccountPage.device(chrome) == "Chrome on Linux")
        #expect(AccountPage.device("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1")
                == "Safari on iPhone")
        #expect(AccountPage.device(nil) == "Unknown browser")
        #expect(AccountPage.format(Date(timeIntervalSince1970: 1_796_154_200)) == "2026-12-01 19:43 UTC")
        #expect(SessionStore.clippedUserAgent("a\u{0}b\nc") == "abc")
        #expect(SessionStore.clippedUserAgent(String(repeating: "x", count: 500))?.count == 200)
        #expect(SessionStore.clippedUserAgent("   ") == nil)
    }
}
