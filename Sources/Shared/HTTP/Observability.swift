import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import Prometheus

/// Process-wide logging and metrics set-up. Both systems can be bootstrapped only once per
/// process, and tests build many applications in one process, so this is idempotent.
public enum Observability {
    public enum LogFormat: String, Sendable { case text, json }

    private static let bootstrapped = NIOLockedValueBox(false)

    /// The Prometheus registry every metric of this process lands in.
    public static let registry = PrometheusCollectorRegistry()

    public static func bootstrap(format: LogFormat, level: Logger.Level) {
        bootstrapped.withLockedValue { done in
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap { label in
                var handler: any LogHandler = switch format {
                case .json: JSONLogHandler(label: label)
                case .text: EscapingLogHandler(wrapping: StreamLogHandler.standardError(label: label))
                }
                handler.logLevel = level
                return handler
            }
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        }
    }

    /// The Prometheus text exposition of every metric.
    public static func metricsText() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

/// One JSON object per line on standard error: `{"ts":…,"level":…,"label":…,"msg":…, metadata…}`.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: String] = [
            "ts": ISO8601DateFormatter().string(from: Date()),
            "level": event.level.rawValue,
            "label": label,
            "msg": "\(event.message)",
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            object[key] = "\(value)"
        }
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        data.append(0x0A)
        FileHandle.standardError.write(data)
    }
}

extension Router {
    /// The headers a reverse proxy adds (nginx, Caddy and ingress-nginx `X-Forwarded-For`, Fly's
    /// proxy `Fly-Client-IP`, RFC 7239 `Forwarded`). A client cannot remove what its proxy adds.
    static var proxyHeaders: [HTTPField.Name] {
        [HTTPField.Name("X-Forwarded-For")!, HTTPField.Name("Forwarded")!, HTTPField.Name("Fly-Client-IP")!]
    }

    /// Metrics are for a scraper talking to the process directly. The router also matches
    /// `/metrics/`, `//metrics` and `/metrics//`, which pass a proxy's `location = /metrics` block,
    /// so only the exact path (no query) is served; and never to a request that came through a
    /// reverse proxy, which covers the recipes that cannot block a path (Fly, a plain Ingress).
    static func servesMetrics(_ request: Request) -> Bool {
        request.uri.path == "/metrics" && request.uri.query == nil
            && !proxyHeaders.contains { request.headers[$0] != nil }
    }

    /// `/healthz` answers while the process is alive; `/readyz` answers 200 only when every
    /// named check passes (database reachable, keys loaded, …), else 503 with the failing names.
    public func addHealthRoutes(readiness: @escaping @Sendable () async -> [String: Bool]) {
        get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                     body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        get("/readyz") { _, _ in
            let checks = await readiness()
            let ready = checks.values.allSatisfy { $0 }
            let body = try JSONSerialization.data(
                withJSONObject: ["status": ready ? "ready" : "not ready", "checks": checks] as [String: Any],
                options: [.sortedKeys])
            return Response(status: ready ? .ok : .serviceUnavailable,
                            headers: [.contentType: "application/json", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        get("/metrics") { request, _ in
            guard Self.servesMetrics(request) else {
                return Response(status: .notFound, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                                body: .init(byteBuffer: ByteBuffer(string: #"{"error":"not_found"}"#)))
            }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(string: Observability.metricsText())))
        }
    }
}
