import Foundation
import HTTPTypes
import NIOCore
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// Issue 13, item 3: "a second registration with byte-identical metadata from the same source
/// within a window returns a new client ID but is counted, so an operator sees which software
/// registers in a loop (`clients list --by-software`)."
@Suite struct DuplicateRegistrationTests {
    struct Stored {
        let duplicate: Bool
        let network: String?
        let hash: [UInt8]?
    }

    func stored(_ server: TestAuthServer, _ clientID: String) async throws -> Stored {
        let rows = try await server.database.query(
            "SELECT duplicate, source_network, registration_hash FROM clients WHERE client_id = \(clientID)")
        let columns = try #require(rows.first).columns
        let hash: ByteBuffer? = try columns["registration_hash"]
        return Stored(duplicate: try columns["duplicate"], network: try columns["source_network"], hash: hash.map { Array(buffer: $0) })
    }

    @Test("identical bodies from one network within the window are counted; other bytes, networks or times are not; --by-software shows them")
    func duplicatesCountedAndListedBySoftware() async throws {
        let software = "dup-test-\(UUID().uuidString.prefix(8))"
        let body = #"{"client_name":"Looping Client","software_id":"\#(software)","software_version":"1.2.3","redirect_uris":["http://127.0.0.1:33418/callback"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"]}"#
        let reordered = #"{"software_id":"\#(software)","client_name":"Looping Client","software_version":"1.2.3","redirect_uris":["http://127.0.0.1:33418/callback"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"]}"#
        let other = "2001:db8:\(String(Int.random(in: 1...0xffff), radix: 16)):\(String(Int.random(in: 1...0xffff), radix: 16))::1"
        let ids = try await TestAuthServer.run { server in
            func register(_ text: String, from address: String? = nil) async throws -> String {
                var headers: HTTPFields = [.contentType: "application/json"]
                if let address { headers[.xForwardedFor] = address }
                let reply = try await server.send(.post, "/register", headers: headers, body: text)
                try #require(reply.status == .created, "\(reply.body)")
                return try #require(reply.json["client_id"] as? String)
            }
            let first = try await register(body)
            let second = try await register(body)
            let third = try await register(reordered)         // same metadata, other bytes
            let fourth = try await register(body, from: other) // same bytes, other network
            server.clock.advance(seconds: 86400 + 1)          // GATEHOUSE_DUPLICATE_REGISTRATION_WINDOW (24h) later
            let fifth = try await register(body)
            let ids = [first, second, third, fourth, fifth]
            #expect(Set(ids).count == 5)  // a new client ID every time
            let rows = try await ids.asyncMap { try await stored(server, $0) }
            #expect(rows.map(\.duplicate) == [false, true, false, false, false])
            #expect(rows[0].hash == Digest.sha256(Array(body.utf8)) && rows[0].hash == rows[1].hash && rows[2].hash != rows[0].hash)
            #expect(rows[0].network == sourceNetwork(of: server.address) && rows[3].network == sourceNetwork(of: other))
            let audit = try await server.count("""
                SELECT count(*)::int FROM audit_events WHERE kind = 'client_registered' AND client_id = \(second)
                  AND detail->>'duplicate' = 'true'
                """)
            #expect(audit == 1)
            return ids
        }
        #expect(ids.count == 5)

        // The operator's view, through the binary.
        let databaseURL = try await AuthServerFixture.shared().databaseURL
        let json = try await AdminProcess.run(["clients", "list", "--by-software", "--json"], environment: ["DATABASE_URL": databaseURL])
        #expect(json.status == 0, "\(json)")
        let groups = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        let ours = try #require(groups.first { $0["software"] as? String == software }, "\(json.stdout.prefix(2000))")
        #expect(ours["version"] as? String == "1.2.3")
        #expect(ours["registrations"] as? String == "5" && ours["duplicates"] as? String == "1")
        #expect(ours["networks"] as? String == "2" && ours["live"] as? String == "5")
        #expect(ours["first"] is String && ours["last"] is String)
        let text = try await AdminProcess.run(["clients", "list", "--by-software"], environment: ["DATABASE_URL": databaseURL])
        #expect(text.status == 0 && text.stdout.hasPrefix("SOFTWARE") && text.stdout.contains(software), "\(text)")
        let line = try #require(text.stdout.split(separator: "\n").first { $0.hasPrefix(software) })
        #expect(line.split(separator: " ", omittingEmptySubsequences: true).prefix(6) == [Substring(software), "1.2.3", "5", "1", "2", "5"])
    }

    @Test("GATEHOUSE_DUPLICATE_REGISTRATION_WINDOW=0 counts none")
    func windowZero() async throws {
        try await TestAuthServer.run(overrides: ["GATEHOUSE_DUPLICATE_REGISTRATION_WINDOW": "0"]) { server in
            let body = #"{"redirect_uris":["http://127.0.0.1:1/cb"],"token_endpoint_auth_method":"none"}"#
            for _ in 0..<2 { #expect(try await server.postJSON("/register", body).status == .created) }
            let duplicates = try await server.count("""
                SELECT count(*)::int FROM clients WHERE source_network = \(sourceNetwork(of: server.address)) AND duplicate
                """)
            #expect(duplicates == 0)
        }
    }
}

extension Array where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
