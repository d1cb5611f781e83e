/// Splits a byte stream into newline-delimited messages.
///
/// MCP transports (stdio): "Messages are delimited by newlines, and MUST NOT contain embedded
/// newlines." Only `\n` (with an optional `\r` before it) ends a line: a JSON string may contain a
/// raw U+2028, which a Unicode-aware line reader would split on. A line longer than `limit` is
/// dropped whole (`overflowed` counts them) instead of growing the buffer without bound.
struct StdioLineSplitter: Sendable {
    let limit: Int
    private var partial: [UInt8] = []
    private var discarding = false
    private(set) var overflowed = 0

    init(limit: Int) {
        self.limit = limit
    }

    /// The complete lines in `chunk` (and what was left over from earlier chunks), without the newline.
    mutating func append(_ chunk: UnsafeRawBufferPointer) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var start = chunk.startIndex
        while let newline = chunk[start...].firstIndex(of: 0x0A) {
            if discarding {
                discarding = false
            } else if partial.count + (newline - start) <= limit {
                partial += chunk[start..<newline]
                if partial.last == 0x0D { partial.removeLast() }
                if !partial.isEmpty { lines.append(partial) }
            } else {
                overflowed += 1
            }
            partial.removeAll(keepingCapacity: true)
            start = newline + 1
        }
        if !discarding {
            if partial.count + (chunk.endIndex - start) <= limit {
                partial += chunk[start...]
            } else {
                overflowed += 1
                discarding = true
                partial.removeAll()
            }
        }
        return lines
    }

    /// What remains after the stream ended without a final newline.
    mutating func finish() -> [UInt8]? {
        defer { partial.removeAll() }
        return discarding || partial.isEmpty ? nil : partial
    }
}
