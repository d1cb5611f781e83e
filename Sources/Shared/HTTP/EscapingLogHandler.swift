import Logging

/// Wraps a line-oriented log handler so that no message or metadata value can start a new line.
///
/// Log values often carry what a client sent (a `client_id`, a `redirect_uri`, a username); in the
/// plain-text format a `%0A` in one of them would otherwise forge a whole log line (CWE-117). Control
/// characters are written as `\n`, `\r`, `\t` or `\u{XX}`, and a backslash as `\\`, so the escaped
/// text is unambiguous. (The JSON format needs no wrapper: JSON strings escape control characters.)
///
/// The logger's own metadata is kept here, not in the wrapped handler, and escaped only when a line
/// is written. Setting it is on every request's path (the ResourceServer stamps each request's
/// logger with the caller's `sub` and `client_id`), writing a line usually is not: escaping in the
/// setter was 3 % of an authenticated `tools/list`'s CPU in a profile (docs/benchmarks.md,
/// "The authenticated path, pinned").
public struct EscapingLogHandler: LogHandler {
    public var wrapped: any LogHandler
    public var metadata: Logger.Metadata

    public init(wrapping handler: any LogHandler) {
        wrapped = handler
        metadata = handler.metadata
        wrapped.metadata = [:]
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The logger's metadata, then the call's (which wins, as in swift-log's own handlers), escaped.
    public func log(event: LogEvent) {
        var escaped = event
        escaped.message = "\(Self.escape("\(event.message)"))"
        let merged = event.metadata.map { call in metadata.merging(call) { $1 } } ?? metadata
        escaped.metadata = merged.isEmpty ? nil : merged.mapValues(Self.escape)
        wrapped.log(event: escaped)
    }

    static func escape(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(escape(text))
        case .stringConvertible(let convertible): .string(escape(convertible.description))
        case .array(let values): .array(values.map(escape))
        case .dictionary(let values): .dictionary(values.mapValues(escape))
        }
    }

    public static func escape(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f || $0 == "\\" || $0 == "\u{2028}" || $0 == "\u{2029}" })
        else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out.append(contentsOf: #"\n"#.unicodeScalars)
            case "\r": out.append(contentsOf: #"\r"#.unicodeScalars)
            case "\t": out.append(contentsOf: #"\t"#.unicodeScalars)
            case "\\": out.append(contentsOf: #"\\"#.unicodeScalars)
            case _ where scalar.value < 0x20 || scalar.value == 0x7f || scalar == "\u{2028}" || scalar == "\u{2029}":
                out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16))}".unicodeScalars)
            default: out.append(scalar)
            }
        }
        return String(out)
    }
}
