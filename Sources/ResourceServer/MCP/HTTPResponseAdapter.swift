import Foundation
import HTTPTypes
import Hummingbird
import MCP

/// Converts the SDK's framework-neutral response into a Hummingbird one. The two modules both name a
/// type `HTTPResponse`, hence the explicit `MCP.` prefixes.
enum HTTPResponseAdapter {
    static func response(from mcp: MCP.HTTPResponse) -> Response {
        var fields = HTTPFields()
        for (name, value) in mcp.headers {
            if let fieldName = HTTPField.Name(name) { fields[fieldName] = value }
        }
        fields[.cacheControl] = "no-store"
        let status = HTTPResponse.Status(code: mcp.statusCode)
        if case .stream(let stream, _) = mcp {
            // Not produced by the stateless transport; kept so a future transport change cannot drop bodies.
            return Response(status: status, headers: fields, body: ResponseBody { writer in
                for try await chunk in stream { try await writer.write(ByteBuffer(bytes: chunk)) }
                try await writer.finish(nil)
            })
        }
        let body = mcp.bodyData.map { ResponseBody(byteBuffer: ByteBuffer(bytes: $0)) } ?? ResponseBody()
        return Response(status: status, headers: fields, body: body)
    }
}
