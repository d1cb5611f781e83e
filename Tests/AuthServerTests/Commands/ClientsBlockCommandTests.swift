import Foundation
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// `AuthServer clients block | unblock | blocked`, run as an operator would (issue 9 C.13). The
/// list is in the database, so what one process blocks every other process refuses.
@Suite struct ClientsBlockCommandTests {
    @Test func blockHoldsAfterDeleteAndUnblockLifts() async throws {
        let db = try await AdminDatabase.make()
        let clientID = TestDatabase.uniqueName("client")
        try await db.insertClient(clientID)
        let document = "https://client-\(UUID().uuidString.prefix(6).lowercased()).example/oauth/client.json"

        let blocked = try await db.run("clients", "block", clientID)
        #expect(blocked.status == 0 && blocked.stdout.contains("blocked client_id \(clientID)"), "\(blocked)")
        #expect(try await db.run("clients", "block", clientID).stdout.contains("already blocked"))
        let host = try await db.run("clients", "block", "https://Evil-Host.example")
        #expect(host.status == 0 && host.stdout.contains("blocked host evil-host.example"), "\(host)")
        #expect(try await db.run("clients", "block", document).status == 0)

        // Seen by any other process with the database, also after the client is deleted.
        #expect(try await db.run("clients", "delete", clientID).status == 0)
        try await db.withDatabase { database async throws in
            let store = ClientStore(database: database)
            #expect(try await store.isBlocked(clientID))
            #expect(try await store.isBlocked(document))
            #expect(try await store.isBlocked("https://evil-host.example:8443/any/client.json"))
            #expect(try await store.isBlocked("https://other.example/client.json") == false)
        }

        let listed = try await db.run("clients", "blocked", "--json")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(Set(rows.compactMap { $0["entry"] as? String }) == [clientID, "evil-host.example", document])

        #expect(try await db.run("clients", "unblock", "evil-host.example").status == 0)
        let again = try await db.run("clients", "unblock", "evil-host.example")
        #expect(again.status != 0 && again.stderr.contains("is not blocked"), "\(again)")
        try await db.withDatabase { database async throws in
            #expect(try await ClientStore(database: database).isBlocked("https://evil-host.example/x/client.json") == false)
        }
        let audit = try await db.run("audit", "list", "--kind", "client_blocked")
        #expect(audit.stdout.contains(clientID) && audit.stdout.contains("evil-host.example"), "\(audit)")
        #expect(try await db.run("audit", "list", "--kind", "client_unblocked").stdout.contains("evil-host.example"))
    }

    @Test(arguments: [["clients", "block"], ["clients", "unblock"], ["clients", "blocked"]])
    func helpWorks(_ path: [String]) async throws {
        let result = try await AdminProcess.run(path + ["--help"], environment: [:])
        #expect(result.status == 0 && result.stdout.contains("USAGE:"), "\(result)")
    }
}
