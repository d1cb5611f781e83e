/// The calls in flight on one child process, and the id mappings that tie the child's messages
/// back to them: the process-wide id of each client request, the remapped progress tokens, and the
/// server requests routed to a call. Owned by one `StdioSessionRouter` (an actor), so plain values.
struct StdioCallTable {
    typealias Caller = StdioSessionRouter.Caller

    struct Pending {
        /// nil for the gateway's own `initialize`.
        let caller: Caller?
        /// The client's id as it spelled it (JSON text).
        let clientID: String
        let sink: AsyncStream<[UInt8]>.Continuation
        var progressToken: (gateway: Int, original: [UInt8])?
        var timer: Task<Void, Never>?
    }

    struct ServerRequest {
        let originalID: [UInt8]
        let owner: Caller
        /// The client request in flight it was routed to; forgotten when that one completes.
        let routedTo: Int
    }

    private struct ClientKey: Hashable {
        let caller: Caller
        let id: String
    }

    let perUser: Bool
    /// Distinguishes this child's server-request ids from an earlier child's after a restart.
    let generation: String
    private(set) var pending: [Int: Pending] = [:]
    private var byClient: [ClientKey: Int] = [:]
    private var progressOwners: [Int: Int] = [:]
    private var serverRequests: [String: ServerRequest] = [:]
    private var nextID = 1
    private var nextServerRequest = 1

    init(perUser: Bool, generation: String) {
        self.perUser = perUser
        self.generation = generation
    }

    var count: Int { pending.count }

    /// A new process-wide id (for a request, or a progress token: one counter, never reused).
    mutating func takeID() -> Int {
        defer { nextID += 1 }
        return nextID
    }

    mutating func insert(_ call: Pending, id: Int) {
        pending[id] = call
        if let caller = call.caller { byClient[ClientKey(caller: caller, id: call.clientID)] = id }
        if let token = call.progressToken { progressOwners[token.gateway] = id }
    }

    /// Forgets call `id` and everything that pointed to it.
    mutating func remove(_ id: Int) -> Pending? {
        guard let call = pending.removeValue(forKey: id) else { return nil }
        call.timer?.cancel()
        if let caller = call.caller { byClient[ClientKey(caller: caller, id: call.clientID)] = nil }
        if let token = call.progressToken { progressOwners[token.gateway] = nil }
        if !serverRequests.isEmpty { serverRequests = serverRequests.filter { $0.value.routedTo != id } }
        return call
    }

    mutating func removeAll() -> [Pending] {
        let calls = Array(pending.values)
        pending = [:]
        byClient = [:]
        progressOwners = [:]
        serverRequests = [:]
        for call in calls { call.timer?.cancel() }
        return calls
    }

    /// The call `caller` knows as `clientID` (a `notifications/cancelled` names it so).
    func call(clientID: String, from caller: Caller) -> Int? {
        byClient[ClientKey(caller: caller, id: clientID)]
    }

    /// The call that asked for progress under the gateway's `token`.
    func call(progressToken token: Int) -> Int? {
        progressOwners[token]
    }

    /// Records a server request routed to call `target`; returns the id the client sees (JSON text).
    mutating func addServerRequest(originalID: [UInt8], routedTo target: Int, owner: Caller) -> String {
        let gatewayID = StdioMessages.quoted("\(generation)-\(nextServerRequest)")
        nextServerRequest += 1
        serverRequests[gatewayID] = ServerRequest(originalID: originalID, owner: owner, routedTo: target)
        return gatewayID
    }

    /// The child's id for the server request `gatewayID`, once, if `caller` may answer it: the
    /// same user (per-user process) or the same session (shared process).
    mutating func takeServerRequest(_ gatewayID: String, answeredBy caller: Caller) -> [UInt8]? {
        guard let request = serverRequests[gatewayID],
              perUser ? request.owner.subject == caller.subject : request.owner == caller else { return nil }
        serverRequests[gatewayID] = nil
        return request.originalID
    }

    /// The server request the child knows as `originalID` (it is cancelling it), forgotten.
    mutating func takeServerRequest(originalID: [UInt8]) -> (gatewayID: String, routedTo: Int)? {
        guard let (gatewayID, request) = serverRequests.first(where: { $0.value.originalID == originalID }) else { return nil }
        serverRequests[gatewayID] = nil
        return (gatewayID, request.routedTo)
    }

    /// The call a message the child sent on its own belongs to: the only client call in flight,
    /// or, in a per-user process, the newest of several; in a shared process with several users'
    /// calls in flight, none (it cannot tell whose it is).
    func routeTarget() -> Int? {
        let waiting = pending.compactMap { $0.value.caller == nil ? nil : $0.key }
        if waiting.count == 1 { return waiting[0] }
        return perUser ? waiting.max() : nil
    }
}
