import Logging
import NIOConcurrencyHelpers
import Shared
import Testing

/// Issue 9 C.15: a `%0A` in a client-supplied value (a client_id, say) must not forge a log line.
@Suite("Log escaping")
struct EscapingLogHandlerTests {
    /// Collects what reaches the wrapped handler.
    final class Recorder: @unchecked Sendable {
        let lines = NIOLockedValueBox<[String]>([])
    }

    struct RecordingHandler: LogHandler {
        let recorder: Recorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            let text = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            recorder.lines.withLockedValue { $0.append("\(event.message) \(text)") }
        }
    }

    @Test("newlines, carriage returns and other controls in messages and metadata are escaped")
    func escapes() {
        let recorder = Recorder()
        var logger = Logger(label: "test") { _ in EscapingLogHandler(wrapping: RecordingHandler(recorder: recorder)) }
        logger[metadataKey: "request"] = "r\n1"
        let forged = "abc\n2026-12-01T00:00:00Z info: admin signed in\r\u{0}\u{1b}[31m"
        logger.info("refused \(forged)", metadata: ["client_id": "\(forged)", "list": .array([.string("a\nb")])])
        let lines = recorder.lines.withLockedValue { $0 }
        #expect(lines.count == 1)
        let line = lines[0]
        #expect(!line.contains("\n") && !line.contains("\r") && !line.contains("\u{0}") && !line.contains("\u{1b}"))
        #expect(line.contains(#"abc\n2026-12-01T00:00:00Z info: admin signed in\r\u{0}\u{1b}[31m"#))
        #expect(line.contains(#"request=r\n1"#))
    }

    @Test("the logger's metadata is escaped when a line is written, the call's metadata wins, and nothing is written below the level")
    func storedMetadataAtWriteTime() {
        let recorder = Recorder()
        var logger = Logger(label: "test") { _ in EscapingLogHandler(wrapping: RecordingHandler(recorder: recorder)) }
        logger.logLevel = .info
        logger[metadataKey: "sub"] = "a\nb"
        logger[metadataKey: "client_id"] = "stored"
        #expect(logger[metadataKey: "sub"] == "a\nb")
        logger.debug("not written")
        logger.info("written", metadata: ["client_id": "from the call"])
        let lines = recorder.lines.withLockedValue { $0 }
        #expect(lines == [#"written client_id=from the call sub=a\nb"#])
    }

    @Test("plain text passes unchanged, and a backslash is doubled so escapes stay unambiguous")
    func plainAndBackslash() {
        #expect(EscapingLogHandler.escape("client-123 https://a.example/cb") == "client-123 https://a.example/cb")
        #expect(EscapingLogHandler.escape(#"a\nb"#) == #"a\\nb"#)
    }
}
