import HTTPTypes
import NIOCore
import NIOHTTP1
import Testing
@testable import ResourceServer

@Suite("SSE event size guard and header filters")
struct SSEEventSizeGuardTests {
    @Test("counts one event at a time, whatever the line endings and however the chunks split")
    func perEventLimit() {
        var sizeGuard = SSEEventSizeGuard(limit: 10)
        let chunks = ["data: 1234\n\n",          // 10 bytes, then a blank line
                      "data: ", "5678\r\n\r\n",   // split across chunks; CRLF ends the event too
                      "data: 12\rdata: 34\r\r"]  // CR line ends, 16 bytes in one event
        let admitted = chunks.map { sizeGuard.admit(ByteBuffer(string: $0)) }
        #expect(admitted == [true, true, true, false])
        var split = SSEEventSizeGuard(limit: 10)
        let overLimit = split.admit(ByteBuffer(string: "data: 12345"))
        #expect(!overLimit)
    }

    @Test("response headers: whatever Connection names is dropped too")
    func connectionNamedHeadersAreDropped() {
        var headers = HTTPHeaders()
        headers.add(name: "Connection", value: "keep-alive, X-Hop")
        headers.add(name: "X-Hop", value: "1")
        headers.add(name: "Set-Cookie", value: "a=b")
        headers.add(name: "Content-Type", value: "application/json")
        let fields = UpstreamHeaders.towardsClient(headers)
        #expect(fields.map(\.name.canonicalName) == ["content-type"])
    }

    @Test("request headers: only the transport's allow-list goes to the upstream")
    func requestAllowList() {
        let fields: HTTPFields = [
            .authorization: "Bearer t", .cookie: "c=1", .accept: "application/json, text/event-stream",
            HTTPField.Name("X-Gatehouse-Subject")!: "x", HTTPField.Name("MCP-Protocol-Version")!: "2026-07-28",
            HTTPField.Name("Mcp-Method")!: "tools/call", HTTPField.Name("Forwarded")!: "for=1.2.3.4",
        ]
        var headers = UpstreamHeaders.towardsUpstream(fields)
        UpstreamIdentity.removeClientSupplied(from: &headers)
        #expect(Set(headers.map { $0.name.lowercased() }) == ["accept", "mcp-protocol-version", "mcp-method"])
    }
}
