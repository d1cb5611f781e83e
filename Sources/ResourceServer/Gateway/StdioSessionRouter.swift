import Foundation
import Logging
import NIOConcurrencyHelpers
import Shared

/// Multiplexes MCP sessions onto one child process: one user's sessions (`per_user`), or every
/// user's (a shared process).
///
/// A child has exactly one client, the gateway: it initializes the child once and answers each
/// client's own `initialize` from that result. Every client request gets a process-wide id on the
/// way in (JSON-RPC 2.0 §5: the response "MUST be the same as the value of the id member in the
/// Request Object", so two sessions both sending `"id": 1` would otherwise collide) and its own id
/// back on the way out; a `progressToken` is remapped the same way ("Progress tokens MUST be
/// unique across all active requests"), so progress reaches the call that asked for it.
///
/// What the child sends on its own (server requests such as sampling or elicitation, log and
/// other notifications) carries no request id over stdio. It goes to the call in flight: the only
/// one, or, when several calls of the same user are waiting, the newest. A shared process with
/// several users' calls in flight cannot tell whose it is, so such a message goes to nobody
/// (a server request is answered with an error) rather than possibly to the wrong person.
actor StdioSessionRouter {
    /// Who sent a message: the verified subject and the gateway session id ("" without one).
    struct Caller: Hashable, Sendable {
        let subject: String
        let session: String
    }

    /// Read by the pool without awaiting the actor, for idle and least-recently-used decisions.
    struct Activity: Sendable {
        var inFlight = 0
        var lastUsed: Date
        var alive = true
    }

    enum Failure: Error {
        /// The child is not running (exited, or never started).
        case unavailable
        /// The message's `id` could not be located unambiguously.
        case invalidMessage
    }

    let perUser: Bool
    nonisolated let activity: NIOLockedValueBox<Activity>
    private let clock: Clock
    private let logger: Logger
    private let timeout: Duration
    private var process: StdioProcess?
    private var isStopped = false
    private var onExit: (@Sendable () async -> Void)?
    private var calls: StdioCallTable
    private(set) var childInitializeResult: [UInt8] = []
    private(set) var childProtocolVersion = StdioMessages.offeredProtocolVersion

    init(perUser: Bool, timeout: Duration, clock: Clock, logger: Logger) {
        self.perUser = perUser
        self.timeout = timeout
        self.clock = clock
        self.logger = logger
        self.activity = NIOLockedValueBox(Activity(lastUsed: clock.now()))
        self.calls = StdioCallTable(perUser: perUser, generation: SecureRandom.token(byteCount: 6))
    }

    nonisolated var isAlive: Bool { activity.withLockedValue { $0.alive } }
    var pid: Int32? { process?.pid }

    // MARK: - Lifecycle

    /// Spawns the child and runs the MCP handshake: `initialize`, then `notifications/initialized`.
    func start(_ command: StdioProcess.Command, startTimeout: Duration, grace: Duration, maximumMessageSize: Int,
               onExit: @escaping @Sendable () async -> Void) async throws {
        self.onExit = onExit
        let process = try await StdioProcess.launch(
            command, grace: grace, maximumMessageSize: maximumMessageSize, logger: logger,
            onMessage: { [weak self] message in await self?.receive(message) },
            onExit: { [weak self] reason in await self?.processExited(reason) })
        self.process = process
        guard isAlive, !isStopped else {
            await process.stop(grace: grace)
            throw Failure.unavailable
        }
        let (stream, sink) = AsyncStream.makeStream(of: [UInt8].self)
        calls.insert(.init(caller: nil, clientID: "0", sink: sink), id: 0)
        touch()  // Busy while starting: not a candidate for the idle or least-recently-used stop.
        process.send(StdioMessages.initialize(id: 0))
        guard let response = await Self.first(of: stream, within: startTimeout),
              let result = JSONMemberLocator.range(of: ["result"], in: response) else {
            _ = calls.remove(0)
            logger.error("upstream did not answer initialize", metadata: ["timeout": "\(startTimeout)"])
            throw Failure.unavailable
        }
        childInitializeResult = Array(response[result])
        if let version = JSONMemberLocator.text(at: ["protocolVersion"], in: childInitializeResult),
           let decoded = try? JSONDecoder().decode(String.self, from: Data(version.utf8)) {
            childProtocolVersion = decoded
        }
        process.send(StdioMessages.initialized)
        logger.info("upstream process started", metadata: ["pid": "\(process.pid)", "protocol_version": "\(childProtocolVersion)"])
    }

    /// Stops the child (or, while it is still being spawned, makes `start` stop it).
    func stop(grace: Duration) async {
        isStopped = true
        await process?.stop(grace: grace)
    }

    private static func first(of stream: AsyncStream<[UInt8]>, within limit: Duration) async -> [UInt8]? {
        await withTaskGroup(of: [UInt8]?.self) { group in
            group.addTask {
                for await message in stream { return message }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    // MARK: - Client to child

    /// Forwards a client request. The stream yields what the child sends for this call (progress,
    /// server requests, log messages) and ends with its response, with the client's own id.
    func forward(request message: [UInt8], from caller: Caller) throws(Failure) -> AsyncStream<[UInt8]> {
        guard let process, isAlive else { throw .unavailable }
        guard let idRange = JSONMemberLocator.range(of: ["id"], in: message) else { throw .invalidMessage }
        // The id as the client spelled it: its answer, and a later `notifications/cancelled`, use it.
        let clientID = String(decoding: message[idRange], as: UTF8.self)
        let id = calls.takeID()
        var line = JSONMemberLocator.replacing(idRange, in: message, with: Array("\(id)".utf8))
        var token: (gateway: Int, original: [UInt8])?
        if let tokenRange = JSONMemberLocator.range(of: ["params", "_meta", "progressToken"], in: line) {
            let gatewayToken = calls.takeID()
            token = (gatewayToken, Array(line[tokenRange]))
            line = JSONMemberLocator.replacing(tokenRange, in: line, with: Array("\(gatewayToken)".utf8))
        }
        let (stream, sink) = AsyncStream.makeStream(of: [UInt8].self)
        sink.onTermination = { [weak self] termination in
            // The HTTP response went away before the child answered (the client disconnected).
            if case .cancelled = termination { Task { await self?.abandon(id) } }
        }
        let timer = Task { [weak self, timeout] in
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            await self?.expire(id)
        }
        calls.insert(.init(caller: caller, clientID: clientID, sink: sink, progressToken: token, timer: timer), id: id)
        touch()
        process.send(Self.singleLine(line))
        return stream
    }

    /// Forwards a client notification; `notifications/cancelled` names the child's id for the call.
    func forward(notification message: [UInt8], method: String, from caller: Caller) {
        guard let process, isAlive else { return }
        var line = message
        if method == "notifications/cancelled" {
            guard let range = JSONMemberLocator.range(of: ["params", "requestId"], in: message),
                  let id = calls.call(clientID: String(decoding: message[range], as: UTF8.self), from: caller) else {
                return
            }
            line = JSONMemberLocator.replacing(range, in: message, with: Array("\(id)".utf8))
            // "The sender of the cancellation notification SHOULD ignore any response to the request
            // that arrives afterward": the call's stream ends here.
            if let entry = remove(id) { entry.sink.finish() }
        }
        touch()
        process.send(Self.singleLine(line))
    }

    /// Forwards a client's answer to a server request routed to it. False when it answers nothing
    /// this child asked this caller (an old child's request, another user's, or a made-up id).
    func forward(response message: [UInt8], from caller: Caller) -> Bool {
        guard let process, isAlive, let range = JSONMemberLocator.range(of: ["id"], in: message) else { return false }
        guard let originalID = calls.takeServerRequest(String(decoding: message[range], as: UTF8.self), answeredBy: caller) else {
            return false
        }
        touch()
        process.send(Self.singleLine(JSONMemberLocator.replacing(range, in: message, with: originalID)))
        return true
    }

    // MARK: - Child to client

    func receive(_ message: [UInt8]) {
        let envelope: JSONRPCEnvelope
        do {
            envelope = try JSONRPCEnvelope.parse(Data(message))
        } catch {
            logger.warning("upstream wrote a line that is not a JSON-RPC message; ignored", metadata: ["error": "\(error.message)"])
            return
        }
        switch envelope.kind {
        case .response: deliverResponse(message)
        case .request(let method): relayServerRequest(message, method: method)
        case .notification(let method): relayNotification(message, method: method)
        }
    }

    private func deliverResponse(_ message: [UInt8]) {
        guard let range = JSONMemberLocator.range(of: ["id"], in: message),
              let id = Int(String(decoding: message[range], as: UTF8.self)), let entry = remove(id) else {
            logger.debug("upstream answered a request that is no longer waiting")
            return
        }
        entry.sink.yield(JSONMemberLocator.replacing(range, in: message, with: Array(entry.clientID.utf8)))
        entry.sink.finish()
    }

    private func relayServerRequest(_ message: [UInt8], method: String) {
        guard let range = JSONMemberLocator.range(of: ["id"], in: message) else { return }
        guard let target = calls.routeTarget(), let entry = calls.pending[target], let caller = entry.caller else {
            logger.info("upstream request with no client session to route it to; refused", metadata: ["method": "\(method)"])
            let id = String(decoding: message[range], as: UTF8.self)
            process?.send(Self.singleLine(StdioMessages.error(
                idJSON: id, code: -32603, message: "No client session is waiting for this request")))
            return
        }
        let gatewayID = calls.addServerRequest(originalID: Array(message[range]), routedTo: target, owner: caller)
        entry.sink.yield(JSONMemberLocator.replacing(range, in: message, with: Array(gatewayID.utf8)))
    }

    private func relayNotification(_ message: [UInt8], method: String) {
        if method == "notifications/progress",
           let range = JSONMemberLocator.range(of: ["params", "progressToken"], in: message),
           let token = Int(String(decoding: message[range], as: UTF8.self)),
           let owner = calls.call(progressToken: token), let entry = calls.pending[owner],
           let original = entry.progressToken?.original {
            entry.sink.yield(JSONMemberLocator.replacing(range, in: message, with: original))
            return
        }
        if method == "notifications/cancelled",
           let range = JSONMemberLocator.range(of: ["params", "requestId"], in: message) {
            // The child gave up on one of its own requests to a client: tell that client, in its ids.
            guard let (gatewayID, target) = calls.takeServerRequest(originalID: Array(message[range])),
                  let entry = calls.pending[target] else { return }
            entry.sink.yield(JSONMemberLocator.replacing(range, in: message, with: Array(gatewayID.utf8)))
            return
        }
        guard let target = calls.routeTarget(), let entry = calls.pending[target] else {
            logger.debug("upstream notification with no client session to route it to; dropped", metadata: ["method": "\(method)"])
            return
        }
        entry.sink.yield(message)
    }

    // MARK: - Ends of calls

    /// The client went away: the child is told, and its answer will be dropped.
    private func abandon(_ id: Int) {
        guard remove(id) != nil else { return }
        process?.send(StdioMessages.cancelled(requestID: id, reason: "The client disconnected"))
    }

    private func expire(_ id: Int) {
        guard let entry = remove(id) else { return }
        let seconds = timeout.components.seconds
        logger.info("upstream request timed out", metadata: ["timeout_s": "\(seconds)"])
        entry.sink.yield(StdioMessages.error(idJSON: entry.clientID, code: UpstreamFailure.timeoutCode,
                                             message: "The upstream MCP server did not answer within \(seconds) s"))
        entry.sink.finish()
        process?.send(StdioMessages.cancelled(requestID: id, reason: "Timed out at the gateway"))
    }

    /// MCP lifecycle: after a crash every call in flight gets an error; the pool starts a new child
    /// for the next one.
    private func processExited(_ reason: String) async {
        activity.withLockedValue { $0.alive = false; $0.inFlight = 0 }
        if isStopped {
            logger.info("upstream process stopped", metadata: ["status": "\(reason)"])
        } else {
            logger.notice("upstream process exited", metadata: ["status": "\(reason)", "in_flight": "\(calls.count)"])
        }
        for entry in calls.removeAll() {
            if entry.caller != nil {
                entry.sink.yield(StdioMessages.error(idJSON: entry.clientID, code: UpstreamFailure.unavailableCode,
                                                     message: "The upstream MCP server exited while handling this request"))
            }
            entry.sink.finish()
        }
        await onExit?()
        onExit = nil
    }

    private func remove(_ id: Int) -> StdioCallTable.Pending? {
        let entry = calls.remove(id)
        if entry != nil { touch() }
        return entry
    }

    private func touch() {
        let count = calls.count
        let now = clock.now()
        activity.withLockedValue { $0.inFlight = count; $0.lastUsed = now }
    }

    /// MCP transports (stdio): messages "MUST NOT contain embedded newlines". A raw line break can
    /// only be whitespace between tokens of valid JSON (inside strings it must be escaped), so
    /// turning it into a space keeps the message as it was.
    static func singleLine(_ message: [UInt8]) -> [UInt8] {
        var line = message
        for index in line.indices where line[index] == 0x0A || line[index] == 0x0D { line[index] = 0x20 }
        line.append(0x0A)
        return line
    }
}
