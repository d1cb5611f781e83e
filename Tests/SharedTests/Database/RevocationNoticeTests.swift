import Shared
import Testing

/// The NOTIFY payload contract between the authorization server (sender) and the resource
/// servers (listeners): every kind survives the trip, and a malformed item is refused.
@Suite("RevocationNotice")
struct RevocationNoticeTests {
    static let kinds: [RevocationNotice] = [
        .accessToken(jti: "0b7c5e2a-3f1d-4c8e-9a6b-1d2e3f4a5b6c", expiresAt: 1_767_225_600),
        .signingKey(kid: "Kid_1-x"),
    ]

    @Test("every kind round-trips through encode and init(payload:)", arguments: kinds)
    func roundTrip(notice: RevocationNotice) {
        #expect(RevocationNotice(payload: notice.encode()) == notice)
    }

    @Test("the wire format: jti:exp and key=kid")
    func wireFormat() {
        #expect(RevocationNotice.accessToken(jti: "a", expiresAt: 100).encode() == "a:100")
        #expect(RevocationNotice.signingKey(kid: "k1").encode() == "key=k1")
        #expect(RevocationNotice.channel == "gatehouse_revocations")
    }

    @Test("malformed items are refused",
          arguments: ["", "junk", "key=", "key=a=b", ":100", "a:", "a:notanumber", "a:1:2", "key"])
    func malformed(item: String) {
        #expect(RevocationNotice(payload: item) == nil)
    }

    /// Moved from the resource server's RevocationTests when the parser moved here.
    @Test("NOTIFY payloads: jti:exp pairs and key=kid items; anything else is ignored")
    func announcements() {
        let parsed = RevocationNotice.decode("a:100 key=Kid_1-x b:200 junk key= c:notanumber key=a=b")
        #expect(parsed == [
            .accessToken(jti: "a", expiresAt: 100), .signingKey(kid: "Kid_1-x"), .accessToken(jti: "b", expiresAt: 200),
        ])
    }

    @Test("payloads carry at most itemsPerPayload items each, and decode back to the same notices")
    func chunking() {
        let notices = (0..<(2 * RevocationNotice.itemsPerPayload + 1)).map {
            RevocationNotice.accessToken(jti: "jti-\($0)", expiresAt: 1_000 + $0)
        }
        let payloads = RevocationNotice.payloads(notices)
        #expect(payloads.count == 3)
        #expect(payloads.flatMap(RevocationNotice.decode) == notices)
        #expect(RevocationNotice.payloads([]).isEmpty)
        #expect(payloads.allSatisfy { $0.utf8.count < 8_000 })
    }
}
