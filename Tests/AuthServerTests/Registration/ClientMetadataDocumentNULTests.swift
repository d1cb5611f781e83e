import Foundation
import Testing
@testable import AuthServer

/// Issue 9 C.14: a metadata document is kept as jsonb, which refuses `\u0000`; such a document is
/// the client's error (refused, never a 5xx from the insert).
struct ClientMetadataDocumentNULTests {
    @Test("A document with a NUL, escaped in any field or raw, is refused before it is stored")
    func nulIsRefused() {
        let id = ClientMetadataDocumentTests.id
        let bodies = [
            #"{"client_id":"\#(id)","client_name":"Example","redirect_uris":["https://app.example.com/cb"],"x":"a\u0000b"}"#,
            #"{"client_id":"\#(id)","client_name":"Ex\U0000ample","redirect_uris":["https://app.example.com/cb"]}"#,
            #"{"client_id":"\#(id)","client_name":"Example","redirect_uris":["https://app.example.com/cb"]}"# + "\u{0}",
        ]
        for body in bodies {
            let reason = ClientMetadataDocumentTests.reason(Array(body.utf8))
            #expect(reason?.contains("NUL") == true, "\(body): \(reason ?? "accepted")")
        }
        let clean = #"{"client_id":"\#(id)","client_name":"Example","redirect_uris":["https://app.example.com/cb"]}"#
        #expect(ClientMetadataDocumentTests.reason(Array(clean.utf8)) == nil)
    }
}
