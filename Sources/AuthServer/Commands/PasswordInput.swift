import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a new password without it ever being a command-line argument (arguments are visible
/// to every local user in `ps` and land in shell history).
enum PasswordInput {
    /// With `fromStdin`, or when standard input is not a terminal, the first line of standard
    /// input; otherwise an interactive prompt, without echo, asked twice.
    static func read(fromStdin: Bool) throws -> String {
        if fromStdin || isatty(STDIN_FILENO) == 0 {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw ValidationError("expected the password on the first line of standard input")
            }
            return line
        }
        let first = try prompt("New password: ")
        let second = try prompt("Repeat password: ")
        guard first == second else { throw ValidationError("the two passwords do not match") }
        return first
    }

    /// Turns terminal echo off for the duration of one line.
    private static func prompt(_ text: String) throws -> String {
        FileHandle.standardError.write(Data(text.utf8))
        var original = termios()
        guard tcgetattr(STDIN_FILENO, &original) == 0 else { throw ValidationError("cannot read from the terminal") }
        var silent = original
        silent.c_lflag &= ~tcflag_t(ECHO)
        _ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        defer {
            _ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &original)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            throw ValidationError("no password entered")
        }
        return line
    }
}
