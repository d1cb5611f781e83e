import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Shared

/// The child processes of one stdio resource: one per user (`per_user: true`, the default) or one
/// shared, started on a user's first call, restarted on the call after a crash, stopped after
/// `idle_timeout` without a call in flight, and at most `max_processes` of them.
///
/// It is a `Service` in the ResourceServer's `ServiceGroup`: on graceful shutdown (SIGTERM,
/// SIGINT) it stops every child — stdin closed, then SIGTERM, then SIGKILL, `grace` apart — and
/// returns only when all are reaped, so a process never outlives the service. If Gatehouse itself
/// is killed, each child's stdin reaches end-of-file, which MCP servers take as the signal to exit.
actor StdioProcessPool: Service {
    struct Settings: Sendable {
        var command: [String]
        var perUser = true
        /// The configured `env`, applied over the minimal base (see `childEnvironment`).
        var environment: [String: String] = [:]
        var idleTimeout: Duration = .seconds(300)
        var maxProcesses = 200
        /// How long one call may wait for the child's answer before the client gets an error.
        var requestTimeout: Duration = .seconds(60)
        /// How long a new child may take to answer `initialize` (a `docker run` may pull first).
        var startTimeout: Duration = .seconds(30)
        /// Between closing stdin, SIGTERM and SIGKILL when a child is stopped.
        var grace: Duration = .seconds(2)
        var maximumMessageSize = 16 << 20

        init(command: [String]) {
            self.command = command
        }
    }

    enum Failure: Error {
        case shuttingDown
        /// Every child is busy and the pool is at `max_processes`.
        case full
    }

    private struct Entry {
        let router: StdioSessionRouter
        let ready: Task<Void, any Error>
        /// SHA-256 over the connection tokens the process was started with (issue 12).
        var connections: [UInt8] = []
    }

    let settings: Settings
    let resource: String
    private let clock: Clock
    private let logger: Logger
    private let baseEnvironment: [String: String]
    private var entries: [String: Entry] = [:]
    private var stopping: [ObjectIdentifier: Task<Void, Never>] = [:]
    private var isShuttingDown = false
    private let liveProcesses: Gauge

    /// `baseEnvironment` is where PATH, HOME and LANG come from (Gatehouse's own environment in
    /// production); nothing else of it reaches a child.
    init(settings: Settings, resource: String, clock: Clock = .system, logger: Logger,
         baseEnvironment: [String: String] = ProcessInfo.processInfo.environment) {
        self.settings = settings
        self.resource = resource
        self.clock = clock
        self.logger = logger
        self.baseEnvironment = baseEnvironment
        self.liveProcesses = Gauge(label: "gatehouse_gateway_processes", dimensions: [("resource", resource)])
        liveProcesses.record(0)
    }

    // MARK: - Service

    func run() async throws {
        let tick = min(Duration.seconds(1), settings.idleTimeout / 4)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                guard (try? await Task.sleep(for: tick)) != nil else { break }
                await self.stopIdle()
            }
        }
        await shutdown()
    }

    /// Stops every child and refuses new calls; returns when all children are reaped.
    func shutdown() async {
        isShuttingDown = true
        let all = entries
        entries = [:]
        updateGauge()
        if !all.isEmpty { logger.info("stopping upstream processes", metadata: ["count": "\(all.count)", "resource": "\(resource)"]) }
        await withTaskGroup(of: Void.self) { group in
            for entry in all.values {
                group.addTask { [grace = settings.grace] in
                    await entry.router.stop(grace: grace)
                    _ = await entry.ready.result
                }
            }
            for task in stopping.values { group.addTask { await task.value } }
        }
        stopping = [:]
    }

    // MARK: - Calls

    /// The router of `subject`'s process (or the shared one), started if there is none or it crashed.
    /// `connections`: the user's connection tokens (issue 12), in the child's environment; a
    /// process started with other values (a token was refreshed or reconnected) is replaced.
    func router(for subject: String, connections: [ConnectionToken] = [],
                username: @Sendable () async -> String?) async throws -> StdioSessionRouter {
        let key = settings.perUser ? subject : ""
        let fingerprint = Self.fingerprint(connections)
        while true {
            guard !isShuttingDown else { throw Failure.shuttingDown }
            if let entry = entries[key], entry.router.isAlive, entry.connections != fingerprint {
                logger.info("replacing an upstream process: the user's connection token changed", metadata: ["resource": "\(resource)"])
                entries[key] = nil
                updateGauge()
                retire(entry.router)
            }
            if let entry = entries[key] {
                if entry.router.isAlive {
                    try await entry.ready.value
                    entry.router.activity.withLockedValue { $0.lastUsed = clock.now() }
                    return entry.router
                }
                entries[key] = nil
                updateGauge()
            }
            try makeRoom()
            let identity = settings.perUser ? (subject: subject, username: await username()) : nil
            // `username()` suspended: another call may have started this user's process meanwhile.
            if entries[key] != nil { continue }
            return try await start(key: key, identity: identity, connections: connections, fingerprint: fingerprint)
        }
    }

    /// The router of a running process, without starting one (notifications and answers to server
    /// requests mean nothing to a new process).
    func existingRouter(for subject: String) -> StdioSessionRouter? {
        let router = entries[settings.perUser ? subject : ""]?.router
        return router?.isAlive == true ? router : nil
    }

    var count: Int { entries.count }

    /// The pid of `subject`'s process, for tests and logs.
    func pid(for subject: String) async -> Int32? {
        await entries[settings.perUser ? subject : ""]?.router.pid
    }

    private func start(key: String, identity: (subject: String, username: String?)?, connections: [ConnectionToken] = [],
                       fingerprint: [UInt8] = []) async throws -> StdioSessionRouter {
        var processLogger = logger
        processLogger[metadataKey: "sub"] = "\(identity?.subject ?? "(shared)")"
        processLogger[metadataKey: "resource"] = "\(resource)"
        let router = StdioSessionRouter(perUser: settings.perUser, timeout: settings.requestTimeout, clock: clock,
                                        logger: processLogger)
        let command = StdioProcess.Command(
            arguments: settings.command,
            environment: Self.childEnvironment(base: baseEnvironment, configured: settings.environment, identity: identity,
                                               connections: connections))
        let ready = Task { [settings] in
            try await router.start(command, startTimeout: settings.startTimeout, grace: settings.grace,
                                   maximumMessageSize: settings.maximumMessageSize,
                                   onExit: { [weak self] in await self?.exited(key: key, router: router) })
        }
        entries[key] = Entry(router: router, ready: ready, connections: fingerprint)
        updateGauge()
        do {
            try await ready.value
            return router
        } catch {
            if entries[key]?.router === router { entries[key] = nil }
            updateGauge()
            processLogger.error("upstream process could not be started", metadata: ["error": "\(error)"])
            retire(router)
            throw error
        }
    }

    /// A child exited on its own (crash, or it quit): forget it, so the next call starts a new one.
    private func exited(key: String, router: StdioSessionRouter) {
        if entries[key]?.router === router {
            entries[key] = nil
            updateGauge()
        }
    }

    /// At `max_processes`, the least recently used child with no call in flight is stopped.
    private func makeRoom() throws {
        guard entries.count >= settings.maxProcesses else { return }
        let idle = entries.compactMap { key, entry -> (String, Date)? in
            let activity = entry.router.activity.withLockedValue { $0 }
            return activity.inFlight == 0 ? (key, activity.lastUsed) : nil
        }
        guard let (key, _) = idle.min(by: { $0.1 < $1.1 }), let entry = entries.removeValue(forKey: key) else {
            throw Failure.full
        }
        logger.info("stopping the least recently used upstream process", metadata: ["resource": "\(resource)"])
        updateGauge()
        retire(entry.router)
    }

    private func stopIdle() {
        let now = clock.now()
        let limit = Double(settings.idleTimeout.components.seconds)
            + Double(settings.idleTimeout.components.attoseconds) / 1e18
        for (key, entry) in entries {
            let activity = entry.router.activity.withLockedValue { $0 }
            guard activity.inFlight == 0, now.timeIntervalSince(activity.lastUsed) >= limit else { continue }
            entries[key] = nil
            logger.info("stopping an idle upstream process", metadata: ["resource": "\(resource)"])
            retire(entry.router)
        }
        updateGauge()
    }

    /// Stops `router`'s child in the background; `shutdown` waits for it.
    private func retire(_ router: StdioSessionRouter) {
        let id = ObjectIdentifier(router)
        stopping[id] = Task { [grace = settings.grace] in
            await router.stop(grace: grace)
            self.forgetStopped(id)
        }
    }

    private func forgetStopped(_ id: ObjectIdentifier) {
        stopping[id] = nil
    }

    private func updateGauge() {
        liveProcesses.record(entries.count)
    }

    /// What a child's environment holds: PATH, HOME and LANG from `base` (defaults when unset),
    /// then the configured `env`, then the caller's identity, which no configuration can override.
    /// Nothing else of Gatehouse's environment (DATABASE_URL, keys, secrets) and nothing of
    /// another user is in it.
    static func childEnvironment(base: [String: String], configured: [String: String],
                                 identity: (subject: String, username: String?)?,
                                 connections: [ConnectionToken] = []) -> [String: String] {
        var environment = [
            "PATH": base["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
            "HOME": base["HOME"] ?? "/",
            "LANG": base["LANG"] ?? "C.UTF-8",
        ]
        for (name, value) in configured { environment[name] = value }
        for name in [subjectVariable, usernameVariable] { environment[name] = nil }
        if let identity {
            environment[subjectVariable] = identity.subject
            environment[usernameVariable] = identity.username ?? ""
            for token in connections { environment[token.environmentVariable] = token.value }
        }
        return environment
    }

    /// Which tokens a process holds, without keeping them: SHA-256 over (variable, value) pairs.
    static func fingerprint(_ connections: [ConnectionToken]) -> [UInt8] {
        guard !connections.isEmpty else { return [] }
        return Digest.sha256(connections.map { "\($0.environmentVariable)=\($0.value)" }.sorted().joined(separator: "\u{0}"))
    }

    static let subjectVariable = "GATEHOUSE_SUBJECT"
    static let usernameVariable = "GATEHOUSE_USERNAME"
}
