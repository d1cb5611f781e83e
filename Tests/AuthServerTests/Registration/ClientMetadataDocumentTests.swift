import Foundation
import NIOCore
import Shared
import Testing
@testable import AuthServer

/// draft-ietf-oauth-client-id-metadata-document-00 and MCP 2025-11-25 "Client ID Metadata
/// Documents": which URLs may be client_ids, which documents are valid, which addresses may be
/// fetched from.
struct ClientMetadataDocumentTests {
    static let id = "https://app.example.com/oauth/client.json"

    static func body(_ changes: [String: Any?] = [:]) throws -> [UInt8] {
        var fields: [String: Any] = [
            "client_id": id, "client_name": "Example", "redirect_uris": ["https://app.example.com/cb"],
        ]
        for (key, value) in changes { fields[key] = value }
        return Array(try JSONSerialization.data(withJSONObject: fields))
    }

    static func reason(_ body: [UInt8], id: String = id) -> String? {
        do {
            _ = try ClientMetadataDocument(clientID: id, body: body, now: Date())
            return nil
        } catch {
            return error.reason
        }
    }

    @Test("§3: https, a path, no fragment, no credentials, no dot segments; http only on loopback with the test flag")
    func clientIDURLs() {
        let valid = ["https://app.example.com/client.json", "https://claude.ai/oauth/mcp-oauth-client-metadata",
                     "https://chatgpt.com/oauth/abc/client.json", "https://example.com:8443/c?v=1"]
        for url in valid {
            #expect((try? ClientMetadataDocument.validateURL(url, allowLoopbackHTTP: false)) != nil, "\(url)")
        }
        let invalid = ["http://app.example.com/client.json", "https://app.example.com", "https://app.example.com/",
                       "https://app.example.com/c.json#x", "https://u:p@app.example.com/c.json", "https://u@app.example.com/c.json",
                       "https://app.example.com/./c.json", "https://app.example.com/a/../c.json", "https://app.example.com/%2E%2e/c.json",
                       "ftp://app.example.com/c.json", "https:///c.json", "https://" + String(repeating: "a", count: 520) + ".com/c",
                       "http://127.0.0.1:9/c.json"]
        for url in invalid {
            #expect((try? ClientMetadataDocument.validateURL(url, allowLoopbackHTTP: false)) == nil, "\(url)")
        }
        #expect((try? ClientMetadataDocument.validateURL("http://127.0.0.1:9/c.json", allowLoopbackHTTP: true)) != nil)
        #expect((try? ClientMetadataDocument.validateURL("http://example.com/c.json", allowLoopbackHTTP: true)) == nil)
        #expect(ClientMetadataDocument.isURLClientID("HTTPS://x.example/c") && !ClientMetadataDocument.isURLClientID("3f2a-opaque"))
    }

    @Test("A valid document becomes a public client of kind metadata_document; unknown scopes are narrowed away")
    func validDocument() throws {
        let document = try ClientMetadataDocument(
            clientID: Self.id, body: try Self.body(["scope": "mcp notes:read", "grant_types": ["authorization_code", "refresh_token"],
                                                    "logo_uri": "https://app.example.com/logo.png", "jwks_uri": "https://app.example.com/jwks"]),
            now: Date())
        #expect(document.client.clientID == Self.id && document.client.isPublic && document.client.isMetadataDocument)
        #expect(document.client.name == "Example")
        #expect(document.client.scope.description == "notes:read")
        #expect(document.client.redirectURIs == ["https://app.example.com/cb"])
        #expect(ClientMetadataDocument.verifiedHost(of: Self.id) == "app.example.com")
        #expect(ClientMetadataDocument.verifiedHost(of: "https://x.example:8443/c") == "x.example:8443")
        // An explicit "none" is as good as none at all.
        #expect(Self.reason(try Self.body(["token_endpoint_auth_method": "none"])) == nil)
    }

    @Test("§4.1 and MCP: client_id must match exactly; client_name and redirect_uris are required; no secrets")
    func invalidDocuments() throws {
        let cases: [([String: Any?], String)] = [
            (["client_id": Self.id + "?"], "does not match"),
            (["client_id": "https://APP.example.com/oauth/client.json"], "does not match"),
            (["client_id": nil], "no client_id"),
            (["client_name": nil], "client_name"),
            (["client_name": "  "], "client_name"),
            (["redirect_uris": nil], "redirect_uris"),
            (["redirect_uris": []], "redirect_uris"),
            (["redirect_uris": ["javascript:alert(1)"]], "not allowed"),
            (["token_endpoint_auth_method": "client_secret_basic"], "must be none"),
            (["token_endpoint_auth_method": "client_secret_jwt"], "must be none"),
            (["token_endpoint_auth_method": "private_key_jwt"], "jwks_uri or jwks"),
            (["token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://a.example/j", "jwks": ["keys": []]], "not both"),
            (["client_secret": "x"], "client_secret"),
            (["client_secret_expires_at": 0], "client_secret"),
            (["grant_types": ["client_credentials"]], "grant_types"),
            (["response_types": ["code", "token"]], "response_types"),
            (["application_type": "desktop"], "application_type"),
        ]
        for (changes, expected) in cases {
            let reason = Self.reason(try Self.body(changes))
            #expect(reason?.contains(expected) == true, "\(changes): \(reason ?? "accepted")")
        }
        #expect(Self.reason(Array("not json".utf8))?.contains("not a JSON object") == true)
        #expect(Self.reason(Array("[1]".utf8))?.contains("not a JSON object") == true)
        let big = try Self.body(["padding": String(repeating: "x", count: ClientMetadataDocument.maxBytes)])
        #expect(Self.reason(big)?.contains("larger than") == true)
    }

    @Test("§6.5: loopback, private, link-local, CGNAT, unique-local and multicast addresses are refused, IPv4 and IPv6")
    func addressPolicy() throws {
        func verdict(_ ip: String) throws -> OutboundAddressPolicy.Verdict {
            OutboundAddressPolicy.classify(try SocketAddress(ipAddress: ip, port: 443))
        }
        for ip in ["127.0.0.1", "127.8.9.10", "::1"] {
            #expect(try verdict(ip) == .loopback, "\(ip)")
        }
        let refused = ["10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
                       "100.127.255.255", "0.0.0.0", "224.0.0.1", "239.255.255.250", "255.255.255.255", "198.18.0.1",
                       "::", "fc00::1", "fd12:3456::1", "fe80::1", "febf::1", "ff02::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1",
                       "64:ff9b::a00:1", "2002:c0a8:101::1", "2001:db8::1", "::10.0.0.1"]
        for ip in refused {
            // A mapped 127.0.0.1 counts as loopback: refused unless the test flag is on.
            let result = try verdict(ip)
            if case .refused = result { continue }
            #expect(ip == "::ffff:127.0.0.1" && result == .loopback, "\(ip) was \(result)")
        }
        let allowed = ["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "192.169.0.1", "2606:4700::1111",
                       "2a00:1450:4001::200e", "::ffff:8.8.8.8", "2001:4860::8888"]
        for ip in allowed {
            #expect(try verdict(ip) == .publicAddress, "\(ip)")
        }
    }

    @Test("The fetcher refuses private and loopback hosts before connecting, and http without the test flag")
    func fetcherRefusesBeforeConnecting() async {
        let fetcher = ClientMetadataFetcher(allowLoopback: false)
        let cases = [("https://10.0.0.1/c.json", "private"), ("https://[::1]/c.json", "loopback"),
                     ("https://localhost/c.json", "loopback"), ("https://[fe80::1]/c.json", "link-local"),
                     ("http://127.0.0.1:1/c.json", "https")]
        for (url, expected) in cases {
            do {
                _ = try await fetcher.fetch(url)
                Issue.record("\(url) was fetched")
            } catch {
                #expect(error.reason.contains(expected) && !error.transient, "\(url): \(error.reason)")
            }
        }
    }
}
