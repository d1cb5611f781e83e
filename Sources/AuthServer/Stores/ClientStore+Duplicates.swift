import Foundation
import PostgresNIO
import Shared

/// What a dynamic registration was and where it came from (migration 12). Issue 13: "a second
/// registration with byte-identical metadata from the same source within a window returns a new
/// client ID but is counted, so an operator sees which software registers in a loop".
struct RegistrationSource: Sendable {
    /// SHA-256 of the raw body, as sent: byte-identical means identical hashes.
    let bodyHash: [UInt8]
    /// `sourceNetwork(of:)` of the client address: the /24 or /56.
    let network: String
    /// RFC 7591 §2 `software_id` and `software_version`, when the client sent them.
    let softwareID: String?
    let softwareVersion: String?
    /// An earlier live registration with the same hash and network created at or after this is
    /// repeated; nil never counts one.
    let duplicateSince: Date?

    init(body: [UInt8], clientAddress: String, now: Date, duplicateWindow: TimeInterval) {
        bodyHash = Digest.sha256(body)
        network = sourceNetwork(of: clientAddress)
        let json = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        softwareID = (json?["software_id"] as? String).map { String($0.prefix(200)) }
        softwareVersion = (json?["software_version"] as? String).map { String($0.prefix(100)) }
        duplicateSince = duplicateWindow > 0 ? now.addingTimeInterval(-duplicateWindow) : nil
    }
}

extension ClientStore {
    /// One line of `clients list --by-software`: dynamic registrations of one piece of software.
    struct SoftwareRegistrations: Sendable, Equatable {
        /// `software_id`, else `client_name`, else "(unnamed)".
        let software: String
        let version: String?
        let registrations: Int
        let duplicates: Int
        let networks: Int
        let live: Int
        let first: Date
        let last: Date
    }

    /// Every dynamic registration still in the table (deleted and reaped ones too: a loop is the
    /// history), grouped by software and version, most registrations first.
    func registrationsBySoftware() async throws -> [SoftwareRegistrations] {
        try await database.query("""
            SELECT coalesce(software_id, client_name, '(unnamed)') AS software, software_version AS version,
                   count(*)::int AS registrations, (count(*) FILTER (WHERE duplicate))::int AS duplicates,
                   count(DISTINCT source_network)::int AS networks,
                   (count(*) FILTER (WHERE deleted_at IS NULL))::int AS live,
                   min(created_at) AS first, max(created_at) AS last
            FROM clients WHERE registration_kind = 'dynamic'
            GROUP BY 1, 2 ORDER BY registrations DESC, software, version NULLS FIRST
            """).map { row in
            let columns = row.columns
            return SoftwareRegistrations(
                software: try columns["software"], version: try columns["version"], registrations: try columns["registrations"],
                duplicates: try columns["duplicates"], networks: try columns["networks"], live: try columns["live"],
                first: try columns["first"], last: try columns["last"])
        }
    }
}
