import Foundation
import Logging
import NIOConcurrencyHelpers
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// One child process speaking MCP on stdin/stdout, started with swift-subprocess.
///
/// The process lives inside one `Subprocess.run` call on a task this type owns: stdin is fed from
/// `outbound`, stdout is split into messages for `onMessage`, and stderr is logged line by line
/// with the caller's metadata (the user's subject). `run` returns only once the child has exited
/// and been reaped, and `stop` waits for that, so a stopped `StdioProcess` leaves nothing behind.
///
/// The child gets its own session (`setsid`), so the terminal's Ctrl-C reaches Gatehouse, which
/// then stops its children in order; and the teardown signals go to the whole process group, so a
/// wrapper (`docker run`, `npx`, a shell) does not leave its own children running.
final class StdioProcess: Sendable {
    struct Command: Sendable {
        var arguments: [String]
        var environment: [String: String]
    }

    struct LaunchFailed: Error, CustomStringConvertible {
        let description: String
    }

    let pid: Int32
    private let outbound: AsyncStream<[UInt8]>.Continuation
    private let task: Task<Void, Never>
    private let exited: NIOLockedValueBox<Bool>

    private init(pid: Int32, outbound: AsyncStream<[UInt8]>.Continuation, task: Task<Void, Never>,
                 exited: NIOLockedValueBox<Bool>) {
        self.pid = pid
        self.outbound = outbound
        self.task = task
        self.exited = exited
    }

    var hasExited: Bool { exited.withLockedValue { $0 } }

    /// Spawns `command`; returns once the child runs (or throws if it could not be started).
    /// `onExit` is called exactly once, after the child has exited and been reaped.
    static func launch(
        _ command: Command,
        grace: Duration,
        maximumMessageSize: Int,
        logger: Logger,
        onMessage: @escaping @Sendable ([UInt8]) async -> Void,
        onExit: @escaping @Sendable (String) async -> Void
    ) async throws -> StdioProcess {
        guard let program = command.arguments.first else { throw LaunchFailed(description: "the command is empty") }
        let executable: Executable = program.contains("/") ? .path(FilePath(program)) : .name(program)
        var options = PlatformOptions()
        options.createSession = true
        // After stdin is closed and `grace` has passed (see `stop`): SIGTERM, then SIGKILL after `grace`.
        options.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: grace)]
        let (outbound, outboundContinuation) = AsyncStream.makeStream(of: [UInt8].self)
        let (started, startedContinuation) = AsyncThrowingStream.makeStream(of: Int32.self)
        let exited = NIOLockedValueBox(false)
        let task = Task {
            var reason: String
            do {
                let result = try await Subprocess.run(
                    executable, arguments: Arguments(Array(command.arguments.dropFirst())),
                    environment: .custom(Dictionary(uniqueKeysWithValues: command.environment.map {
                        (Subprocess.Environment.Key(stringLiteral: $0.key), $0.value)
                    })),
                    platformOptions: options, input: .inputWriter, output: .sequence, error: .sequence
                ) { execution in
                    startedContinuation.yield(execution.processIdentifier.value)
                    startedContinuation.finish()
                    let logger = {
                        var logger = logger
                        logger[metadataKey: "pid"] = "\(execution.processIdentifier.value)"
                        return logger
                    }()
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask {
                            let writer = execution.standardInputWriter
                            for await message in outbound {
                                do { _ = try await writer.write(message) } catch { break }
                            }
                            try? await writer.finish()
                        }
                        group.addTask {
                            await logStandardError(execution.standardError, logger: logger)
                        }
                        var splitter = StdioLineSplitter(limit: maximumMessageSize)
                        do {
                            for try await buffer in execution.standardOutput {
                                for message in buffer.withUnsafeBytes({ splitter.append($0) }) {
                                    await onMessage(message)
                                }
                            }
                        } catch {
                            logger.debug("upstream stdout closed", metadata: ["error": "\(error)"])
                        }
                        if let last = splitter.finish() { await onMessage(last) }
                        if splitter.overflowed > 0 {
                            logger.warning("upstream messages over the size limit were dropped",
                                           metadata: ["count": "\(splitter.overflowed)", "limit": "\(maximumMessageSize)"])
                        }
                        // stdout is closed: the process is ending. Stop writing; stderr ends with it.
                        group.cancelAll()
                    }
                }
                reason = "\(result.terminationStatus)"
            } catch {
                startedContinuation.finish(throwing: error)
                reason = "\(error)"
            }
            exited.withLockedValue { $0 = true }
            outboundContinuation.finish()
            await onExit(reason)
        }
        do {
            for try await pid in started {
                return StdioProcess(pid: pid, outbound: outboundContinuation, task: task, exited: exited)
            }
        } catch {
            await task.value
            throw LaunchFailed(description: "\(program) could not be started: \(error)")
        }
        await task.value
        throw LaunchFailed(description: "\(program) could not be started")
    }

    /// Queues one message (a complete line, newline included) for stdin.
    func send(_ line: [UInt8]) {
        outbound.yield(line)
    }

    /// MCP transports (stdio, Shutdown): "the client SHOULD initiate shutdown by: 1. First, closing
    /// the input stream to the child process (the server) 2. Waiting for the server to exit, or
    /// sending SIGTERM if the server does not exit within a reasonable time 3. Sending SIGKILL if
    /// the server does not exit within a reasonable time after SIGTERM". Returns once it is reaped.
    func stop(grace: Duration) async {
        outbound.finish()
        let deadline = ContinuousClock.now + grace
        // (A cancelled caller skips the wait: its sleeps would return at once.)
        while !hasExited, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(10))
        }
        // Cancelling `run` starts its teardown sequence: SIGTERM to the group, SIGKILL after `grace`.
        if !hasExited { task.cancel() }
        await task.value
    }

    /// Waits until the child has exited on its own (tests, and the pool's crash handling).
    func waitForExit() async {
        await task.value
    }

    private static func logStandardError(_ stream: SubprocessOutputSequence, logger: Logger) async {
        var splitter = StdioLineSplitter(limit: 8 * 1024)
        do {
            for try await buffer in stream {
                for line in buffer.withUnsafeBytes({ splitter.append($0) }) {
                    logger.info("upstream stderr", metadata: ["line": "\(String(decoding: line, as: UTF8.self))"])
                }
            }
        } catch {}
        if let last = splitter.finish() {
            logger.info("upstream stderr", metadata: ["line": "\(String(decoding: last, as: UTF8.self))"])
        }
        if splitter.overflowed > 0 {
            logger.info("upstream stderr lines over 8 KiB were not logged", metadata: ["count": "\(splitter.overflowed)"])
        }
    }
}
