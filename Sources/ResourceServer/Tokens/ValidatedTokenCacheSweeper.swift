import Metrics
import ServiceLifecycle
import Shared

/// Runs `ValidatedTokenCache.sweep` for every resource's cache every `interval`, so entries of
/// tokens that expired or went idle leave even when nothing looks them up again, and publishes
/// each cache's size as `gatehouse_rs_validated_tokens_cached{resource="/mcp"}`.
///
/// A `Service` in the ResourceServer's `ServiceGroup`: it stops with the server on graceful shutdown.
/// Time for the expiry and idle checks is the injected clock's; only the pause between sweeps is real.
struct ValidatedTokenCacheSweeper: Service {
    struct Watched: Sendable {
        let resource: String
        let cache: ValidatedTokenCache
    }

    let caches: [Watched]
    let clock: Clock
    let leeway: Int
    var interval: Duration = .seconds(15)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                sweep()
                do { try await Task.sleep(for: interval) } catch { return }
            }
        }
    }

    /// One pass over every cache; returns each resource's remaining entries.
    @discardableResult
    func sweep() -> [String: Int] {
        let now = clock.seconds
        var remaining: [String: Int] = [:]
        for watched in caches {
            let count = watched.cache.sweep(now: now, leeway: leeway)
            Gauge(label: "gatehouse_rs_validated_tokens_cached", dimensions: [("resource", watched.resource)]).record(count)
            remaining[watched.resource] = count
        }
        return remaining
    }
}
