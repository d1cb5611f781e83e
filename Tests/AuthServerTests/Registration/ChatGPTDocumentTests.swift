import Foundation
import Shared
import Testing
@testable import AuthServer

/// Issue 9 A.1: the client metadata documents ChatGPT publishes, verbatim, are valid documents
/// of `private_key_jwt` clients.
@Suite struct ChatGPTDocumentTests {
    static let verbatim = """
        {"client_id": "https://chatgpt.com/oauth/client.json", "client_uri": "https://chatgpt.com/",
         "redirect_uris": ["https://chatgpt.com/connector_platform_oauth_redirect"],
         "token_endpoint_auth_method": "private_key_jwt",
         "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
         "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
         "client_name": "ChatGPT", "logo_uri": "https://persistent.oaistatic.com/sonic/misc/openai-logo.png",
         "token_endpoint_auth_signing_alg": "RS256", "jwks_uri": "https://chatgpt.com/oauth/jwks.json"}
        """

    @Test func verbatimDocumentIsAccepted() throws {
        let document = try ClientMetadataDocument(clientID: "https://chatgpt.com/oauth/client.json",
                                                  body: Array(Self.verbatim.utf8), now: Date())
        #expect(document.client.authMethod == .privateKeyJWT)
        #expect(document.client.jwksURI == "https://chatgpt.com/oauth/jwks.json")
        #expect(document.client.signingAlgorithm == .rs256)
        #expect(document.client.redirectURIs == ["https://chatgpt.com/connector_platform_oauth_redirect"])
        #expect(!document.client.isPublic)
    }

    @Test func perConnectorDocumentIsAccepted() throws {
        let id = "https://chatgpt.com/oauth/abc123/client.json"
        let body = Self.verbatim
            .replacingOccurrences(of: "https://chatgpt.com/oauth/client.json", with: id)
            .replacingOccurrences(of: "https://chatgpt.com/connector_platform_oauth_redirect", with: "https://chatgpt.com/connector/oauth/abc123")
        let document = try ClientMetadataDocument(clientID: id, body: Array(body.utf8), now: Date())
        #expect(document.client.authMethod == .privateKeyJWT)
        #expect(document.client.redirectURIs == ["https://chatgpt.com/connector/oauth/abc123"])
    }
}
