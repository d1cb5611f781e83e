import Hummingbird

/// An endpoint registers its own routes (as the ResourceServer's `MCPEndpoint` does), so its
/// paths and methods are read in its own file; the builder only lists the endpoints.
protocol AuthServerEndpoint: Sendable {
    func addRoutes(to router: Router<AuthRequestContext>)
}
