import HTTPTypes
import Hummingbird
import NIOCore
import Testing
@testable import ResourceServer

/// RFC 6750 §2.1 header parsing, byte by byte.
@Suite("Bearer token extraction")
struct BearerTokenTests {
    private func extract(_ authorization: [String], path: String = "/mcp") -> Result<String, TokenRejection> {
        var fields = HTTPFields()
        for value in authorization { fields.append(HTTPField(name: .authorization, value: value)) }
        let head = HTTPRequest(method: .post, scheme: "http", authority: "localhost", path: path, headerFields: fields)
        return BearerToken.extract(from: Request(head: head, body: .init(buffer: ByteBuffer())))
    }

    @Test("the scheme is case-insensitive and blanks around the token are ignored")
    func accepted() throws {
        #expect(try extract(["Bearer abc.DEF-_~+/="]).get() == "abc.DEF-_~+/=")
        #expect(try extract(["bearer  tok "]).get() == "tok")
        #expect(try extract(["BEARER\u{20}\ttok\t"]).get() == "tok")
    }

    @Test("no bearer token at all", arguments: ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "Bearer\tx", "Bearerx y"])
    func missing(_ value: String) {
        #expect(throws: TokenRejection.missing) { try extract([value]).get() }
    }

    @Test("a bearer token with characters outside b64token is malformed", arguments: ["Bearer a b c", "Bearer tok€n", "Bearer a,b"])
    func malformed(_ value: String) {
        guard case .failure(.invalidToken) = extract([value]) else {
            Issue.record("\(value) was not refused as malformed")
            return
        }
    }

    @Test("two Authorization headers, or a header and a token in the query string, are refused; a query token alone is no token")
    func ambiguous() {
        guard case .failure(.invalidRequest) = extract(["Bearer a", "Bearer b"]) else { Issue.record("two headers accepted"); return }
        guard case .failure(.missing) = extract([], path: "/mcp?access_token=a") else {
            Issue.record("a query token alone was not treated as no token")
            return
        }
        guard case .failure(.invalidRequest) = extract(["Bearer a"], path: "/mcp?access_token=a") else {
            Issue.record("query token accepted")
            return
        }
        guard case .failure(.invalidRequest) = extract(["Bearer a"], path: "/mcp?%61ccess_token=a") else {
            Issue.record("percent-encoded query token accepted")
            return
        }
        #expect((try? extract(["Bearer a"], path: "/mcp?other=access_token").get()) == "a")
        #expect((try? extract(["Bearer a"], path: "/mcp?x=%20").get()) == "a")
    }
}
