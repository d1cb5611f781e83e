import Hummingbird
import Logging
import Metrics
import Shared

extension MCPEndpoint.Authentication {
    /// The token decides who the caller is; failures become RFC 6750 challenges naming the
    /// resource's metadata. Shared by the built-in MCP endpoint and every gateway resource.
    func identify(_ request: Request, challenge: BearerChallenge, logger: Logger) async throws -> VerifiedIdentity {
        switch self {
        case .disabled(let identity):
            return identity
        case .bearer(let validator):
            do {
                let token = try BearerToken.extract(from: request).get()
                return try await validator.validate(token)
            } catch let rejection as TokenRejection {
                Counter(label: "gatehouse_rs_token_rejections_total", dimensions: [("reason", rejection.metricLabel)]).increment()
                if rejection != .missing {
                    logger.info("access token refused", metadata: ["reason": "\(rejection.metricLabel)"])
                }
                throw challenge.unauthorized(rejection)
            } catch let error as RevocationStatusUnavailable {
                logger.error("cannot check token revocation; refusing the request", metadata: ["error": "\(error)"])
                throw OAuthError.temporarilyUnavailable(debug: error.description)
            }
        }
    }
}
