import Foundation
import Shared

extension TokenExchangeClient.Credentials {
    static let idVariable = "GATEHOUSE_RS_CLIENT_ID"
    static let secretFileVariable = "GATEHOUSE_RS_CLIENT_SECRET_FILE"

    /// The ResourceServer's own confidential client, as `AuthServer migrate` (with the same two
    /// variables) or `AuthServer clients create-resource-server` created it: both set, or neither
    /// (then no resource may ask for `identity.token`). The secret is read from the file once.
    static func fromEnvironment(_ environment: Environment) throws -> Self? {
        switch (environment.string(idVariable), environment.string(secretFileVariable)) {
        case (nil, nil):
            return nil
        case (nil, _):
            throw ConfigurationError(idVariable, "is required with \(secretFileVariable)")
        case (_, nil):
            throw ConfigurationError(secretFileVariable, "is required with \(idVariable)")
        case (let id?, let path?):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigurationError(secretFileVariable, "cannot read \(path)")
            }
            let secret = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !id.isEmpty, !secret.isEmpty else {
                throw ConfigurationError(secretFileVariable, "\(path) is empty")
            }
            return Self(clientID: id, clientSecret: secret)
        }
    }
}

extension TokenExchangeClient.Credentials: CustomStringConvertible {
    /// Never the secret, whatever logs the configuration.
    var description: String { "Credentials(clientID: \(clientID), clientSecret: <redacted>)" }
}
