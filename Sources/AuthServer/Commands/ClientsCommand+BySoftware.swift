import ArgumentParser
import Foundation
import Shared

extension ClientsCommand.List {
    /// `clients list --by-software`: dynamic registrations grouped by the software that made them
    /// (`software_id`, else `client_name`, with `software_version`), so an operator sees which
    /// client registers in a loop. DUPLICATES counts registrations that repeated an earlier live
    /// one byte for byte from the same network within GATEHOUSE_DUPLICATE_REGISTRATION_WINDOW;
    /// NETWORKS the distinct source networks (/24, /56); LIVE those not deleted or reaped.
    static func printBySoftware(json: Bool) async throws {
        let groups = try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, _ in
            try await ClientStore(database: database).registrationsBySoftware()
        }
        var table = OutputTable("SOFTWARE", "VERSION", "REGISTRATIONS", "DUPLICATES", "NETWORKS", "LIVE", "FIRST", "LAST")
        for group in groups {
            table.append(group.software, group.version, String(group.registrations), String(group.duplicates),
                         String(group.networks), String(group.live), OutputTable.format(group.first), OutputTable.format(group.last))
        }
        table.print(json: json)
    }
}
