/// Finds one member's value inside a JSON-RPC message, as a byte range, so the stdio gateway can
/// swap an `id` or a `progressToken` without decoding and re-encoding the rest of the message
/// (numbers, key order and escapes reach the other side exactly as written).
///
/// The scan walks every member of each object on the path, and a key that appears twice on the
/// path makes the lookup fail: JSON parsers disagree about duplicates (first or last wins), and a
/// message whose `id` the gateway and the upstream would read differently must not be forwarded.
enum JSONMemberLocator {
    /// The range of the value at `path` (keys from the top-level object down), nil when absent,
    /// duplicated, or when the bytes are not well-formed enough to walk.
    static func range(of path: [String], in bytes: [UInt8]) -> Range<Int>? {
        guard !path.isEmpty else { return nil }
        var scanner = Scanner(bytes: bytes)
        return scanner.locate(path.map { Array($0.utf8) }[...])
    }

    /// `bytes` with `range` replaced by `value`.
    static func replacing(_ range: Range<Int>, in bytes: [UInt8], with value: [UInt8]) -> [UInt8] {
        var result = [UInt8]()
        result.reserveCapacity(bytes.count - range.count + value.count)
        result += bytes[..<range.lowerBound]
        result += value
        result += bytes[range.upperBound...]
        return result
    }

    /// The JSON text at `path`, for ids and tokens used as dictionary keys.
    static func text(at path: [String], in bytes: [UInt8]) -> String? {
        range(of: path, in: bytes).map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func locate(_ path: ArraySlice<[UInt8]>) -> Range<Int>? {
            skipWhitespace()
            guard peek == UInt8(ascii: "{") else { return nil }
            index += 1
            var found: Range<Int>?
            skipWhitespace()
            if peek == UInt8(ascii: "}") { return nil }
            while index < bytes.count {
                skipWhitespace()
                guard let key = readString() else { return nil }
                skipWhitespace()
                guard peek == UInt8(ascii: ":") else { return nil }
                index += 1
                skipWhitespace()
                let start = index
                if key.elementsEqual(path.first!) {
                    guard found == nil else { return nil }
                    if path.count == 1 {
                        guard skipValue() else { return nil }
                        found = start..<index
                    } else {
                        var nested = Scanner(bytes: bytes)
                        nested.index = start
                        let inner = nested.locate(path.dropFirst())
                        guard skipValue() else { return nil }
                        // An absent inner member still counts as "seen" for the duplicate check.
                        found = inner ?? (index..<index)
                    }
                } else {
                    guard skipValue() else { return nil }
                }
                skipWhitespace()
                if peek == UInt8(ascii: ",") { index += 1; continue }
                if peek == UInt8(ascii: "}") { index += 1; break }
                return nil
            }
            guard let found, !found.isEmpty else { return nil }
            return found
        }

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipWhitespace() {
            while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        /// The raw bytes between the quotes (escapes left as written: MCP's keys never need them).
        mutating func readString() -> ArraySlice<UInt8>? {
            guard peek == UInt8(ascii: "\"") else { return nil }
            let start = index + 1
            guard skipString() else { return nil }
            return bytes[start..<(index - 1)]
        }

        mutating func skipString() -> Bool {
            index += 1
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\\"): index += 2
                case UInt8(ascii: "\""): index += 1; return true
                default: index += 1
                }
            }
            return false
        }

        /// Skips one value; containers by bracket depth, strings respected.
        mutating func skipValue() -> Bool {
            guard let first = peek else { return false }
            switch first {
            case UInt8(ascii: "\""):
                return skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while index < bytes.count {
                    switch bytes[index] {
                    case UInt8(ascii: "\""):
                        guard skipString() else { return false }
                        continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth == 0 { index += 1; return true }
                    default: break
                    }
                    index += 1
                }
                return false
            default:
                let start = index
                while let byte = peek, !(byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]")
                                         || byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D) {
                    index += 1
                }
                return index > start
            }
        }
    }
}
