import Foundation
import FuzzSupport
import Shared

// libFuzzer harness for the YAML config file (`GatehouseConfigFile.parse`, with the `resources:`
// and `clients:` lists behind it). One input is one file. Built and run only by scripts/fuzz.sh
// (docs/testing.md "Fuzzing").
//
// Invariants, each a crash when broken:
// - a parse returns a configuration or throws `ConfigurationError` naming the file, nothing else;
// - parsing is deterministic: the same text gives the same configuration;
// - settings are only the variables a file may set (never GATEHOUSE_KEK, GATEHOUSE_CONFIG or an
//   insecure switch), each with a value;
// - resources: at most 100, paths unique, at most one built-in, scope names unique across the
//   others; clients: at most 100, ids valid and unique, names of 1 to 100 characters, each with at
//   least one redirect URI (the AuthServer checks them against its policy before it starts).

let path = "/etc/gatehouse/fuzz.yaml"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let file: GatehouseConfigFile
    do {
        file = try GatehouseConfigFile.parse(text, path: path)
    } catch let error as ConfigurationError {
        require(error.variable.hasPrefix("\(GatehouseConfigFile.variable) \(path)"), "error names \(error.variable.debugDescription)")
        return 0
    } catch {
        require(false, "parse threw \(type(of: error)), not ConfigurationError: \(error)")
        return 0
    }
    require((try? GatehouseConfigFile.parse(text, path: path)) == file, "a second parse differs")
    for (variable, _) in file.settings {
        require(GatehouseConfigFile.settingVariables.contains(variable), "the file set \(variable)")
    }
    require(file.resources.count <= 100, "\(file.resources.count) resources")
    require(Set(file.resources.map(\.path)).count == file.resources.count, "two resources share a path")
    require(file.resources.filter(\.isBuiltin).count <= 1, "more than one built-in")
    let scopes = file.resources.filter { !$0.isBuiltin }.flatMap(\.scopeNames)
    require(Set(scopes).count == scopes.count, "a scope name defined twice")
    require(file.clients.count <= 100 && Set(file.clients.map(\.id)).count == file.clients.count, "too many clients, or two share an id")
    for client in file.clients {
        require(PreregisteredClientConfiguration.isValidID(client.id), "client id \(client.id.debugDescription)")
        require((1...100).contains(client.name.count) && !client.redirectURIs.isEmpty, "client \(client.id) without name or redirect URIs")
    }
    return 0
}

/// The entry point SwiftPM links as `main` (see `runLibFuzzer`).
@_cdecl("FuzzConfig_main")
func fuzzConfigMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzConfig)
}
