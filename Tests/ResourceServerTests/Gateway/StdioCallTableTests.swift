import Testing
@testable import ResourceServer

/// Where the messages a child sends on its own go, and who may answer a server request.
@Suite("stdio call table")
struct StdioCallTableTests {
    typealias Caller = StdioSessionRouter.Caller
    static let alice = Caller(subject: "alice", session: "a1")
    static let bob = Caller(subject: "bob", session: "b1")

    static func table(perUser: Bool, calls: [(Int, Caller?)]) -> StdioCallTable {
        var table = StdioCallTable(perUser: perUser, generation: "g")
        for (id, caller) in calls {
            table.insert(.init(caller: caller, clientID: "\(id)", sink: AsyncStream.makeStream(of: [UInt8].self).continuation), id: id)
        }
        return table
    }

    @Test("the only call in flight gets it; the gateway's own initialize never does")
    func onlyCall() {
        #expect(Self.table(perUser: false, calls: [(0, nil), (4, Self.alice)]).routeTarget() == 4)
        #expect(Self.table(perUser: true, calls: [(0, nil)]).routeTarget() == nil)
    }

    @Test("several calls: the newest in a per-user process, nobody in a shared one")
    func severalCalls() {
        #expect(Self.table(perUser: true, calls: [(2, Self.alice), (7, Caller(subject: "alice", session: "a2"))]).routeTarget() == 7)
        #expect(Self.table(perUser: false, calls: [(2, Self.alice), (7, Self.bob)]).routeTarget() == nil)
    }

    @Test("a server request is answered once, by its user (per-user) or its session (shared); it ends with its call")
    func serverRequestOwnership() {
        var perUser = Self.table(perUser: true, calls: [(3, Self.alice)])
        let id = perUser.addServerRequest(originalID: Array("0".utf8), routedTo: 3, owner: Self.alice)
        #expect(perUser.takeServerRequest(id, answeredBy: Self.bob) == nil)
        #expect(perUser.takeServerRequest(id, answeredBy: Caller(subject: "alice", session: "a2")) == Array("0".utf8))
        #expect(perUser.takeServerRequest(id, answeredBy: Self.alice) == nil)

        var shared = Self.table(perUser: false, calls: [(3, Self.alice)])
        let other = shared.addServerRequest(originalID: Array("1".utf8), routedTo: 3, owner: Self.alice)
        #expect(shared.takeServerRequest(other, answeredBy: Caller(subject: "alice", session: "a2")) == nil)
        _ = shared.remove(3)
        #expect(shared.takeServerRequest(other, answeredBy: Self.alice) == nil)
    }
}
