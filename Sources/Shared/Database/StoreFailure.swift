import PostgresNIO

/// The one place per store where a database failure becomes the one `OAuthError`: every store
/// method runs its statements through `StoreFailure.mapping`, so an endpoint only ever sees an
/// `OAuthError` (503 `temporarily_unavailable`, RFC 6749 §4.1.2.1, with `Retry-After`), and the
/// log line names the store and operation that failed. `ErrorMappingMiddleware` stays the
/// backstop for anything else.
public enum StoreFailure {
    public static func mapping<T>(_ store: String, _ operation: String,
                                  _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as OAuthError {
            throw error
        } catch is DatabaseTimeoutError {
            throw unavailable("\(store).\(operation): database timeout")
        } catch let error as PSQLError {
            throw unavailable("\(store).\(operation): \(String(reflecting: error))")
        }
    }

    private static func unavailable(_ debug: String) -> OAuthError {
        OAuthError.temporarilyUnavailable(debug: debug)
    }
}
