import Hummingbird
import HummingbirdCore

/// How both services' HTTP/1.1 servers treat connections: `GATEHOUSE_HTTP_IDLE_TIMEOUT_SECONDS`
/// (default 60) closes a connection that has had no request in progress and sent no complete
/// request head for that long.
///
/// Without it (Hummingbird's default is none) a client could hold a connection, and a file
/// descriptor, for as long as it liked: 200 slowloris connections trickling one header byte a
/// second, or 1,000 connections opened and left idle, stayed open for good (the slow-clients chaos
/// scenario). A request in progress is never cut off, so a long tool call or an open SSE stream
/// is not affected; a keep-alive connection idle for a minute is closed and the client simply
/// opens another.
public enum HTTPServerSettings {
    public static let idleTimeoutVariable = "GATEHOUSE_HTTP_IDLE_TIMEOUT_SECONDS"

    public static func idleTimeoutSeconds(_ environment: Environment) throws -> Int {
        try environment.int(idleTimeoutVariable, default: 60, range: 1...3600)
    }

    public static func server(idleTimeoutSeconds: Int) -> HTTPServerBuilder {
        .http1(configuration: .init(idleTimeout: .seconds(Int64(idleTimeoutSeconds))))
    }
}
