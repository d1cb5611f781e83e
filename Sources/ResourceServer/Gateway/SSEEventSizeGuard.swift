import NIOCore

/// Bounds the size of one Server-Sent Event in a stream relayed from an upstream.
///
/// A streamed response has no total size (a long tool may send progress for minutes), but every
/// event in it is one JSON-RPC message, and one message may not exceed the response limit. HTML
/// Living Standard §9.2.6: events are separated by a blank line, and lines end in CRLF, LF or CR;
/// the guard counts the bytes since the last blank line (treating CR as a line end too).
struct SSEEventSizeGuard: Sendable {
    let limit: Int
    private(set) var currentEventSize = 0
    private var previous: UInt8 = 0
    private var lineIsEmpty = true

    init(limit: Int) {
        self.limit = limit
    }

    /// False once an event has grown past the limit.
    mutating func admit(_ buffer: ByteBuffer) -> Bool {
        for byte in buffer.readableBytesView {
            switch byte {
            case UInt8(ascii: "\n") where previous == UInt8(ascii: "\r"):
                break  // the LF of a CRLF: the CR already ended the line
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                if lineIsEmpty { currentEventSize = 0 }
                lineIsEmpty = true
            default:
                lineIsEmpty = false
                currentEventSize += 1
            }
            previous = byte
            if currentEventSize > limit { return false }
        }
        return true
    }
}
