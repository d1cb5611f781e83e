import Foundation
import Logging

/// A configuration problem found at start-up. The message names the variable, so an operator
/// can fix it without reading code.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let variable: String
    public let problem: String
    public init(_ variable: String, _ problem: String) {
        self.variable = variable
        self.problem = problem
    }
    public var description: String { "configuration error: \(variable): \(problem)" }
}

/// Read-only view of the process environment used by every configuration type.
/// Tests pass a dictionary; `main` passes `ProcessInfo.processInfo.environment`.
public struct Environment: Sendable {
    public let values: [String: String]

    public init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values
    }

    /// The value, or nil when unset or blank.
    public func string(_ key: String) -> String? {
        guard let raw = values[key]?.trimmingCharacters(in: .whitespacesAndNewlines), !raw.isEmpty else { return nil }
        return raw
    }

    public func string(_ key: String, default fallback: String) -> String {
        string(key) ?? fallback
    }

    public func int(_ key: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
        guard let raw = string(key) else { return fallback }
        guard let value = Int(raw) else { throw ConfigurationError(key, "expected a whole number, got \"\(raw)\"") }
        guard range.contains(value) else {
            throw ConfigurationError(key, "\(value) is outside the allowed range \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    public func bool(_ key: String, default fallback: Bool = false) throws -> Bool {
        guard let raw = string(key)?.lowercased() else { return fallback }
        switch raw {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigurationError(key, "expected true or false, got \"\(raw)\"")
        }
    }

    /// `GATEHOUSE_LOG_LEVEL`: trace, debug, info (default), notice, warning, error, critical.
    public func logLevel() throws -> Logger.Level {
        let raw = string("GATEHOUSE_LOG_LEVEL", default: "info").lowercased()
        guard let level = Logger.Level(rawValue: raw) else {
            throw ConfigurationError("GATEHOUSE_LOG_LEVEL", "\"\(raw)\" is not one of trace, debug, info, notice, warning, error, critical")
        }
        return level
    }

    /// `GATEHOUSE_LOG_FORMAT`: text (default) or json.
    public func logFormat() throws -> Observability.LogFormat {
        let raw = string("GATEHOUSE_LOG_FORMAT", default: "text").lowercased()
        guard let format = Observability.LogFormat(rawValue: raw) else {
            throw ConfigurationError("GATEHOUSE_LOG_FORMAT", "\"\(raw)\" is not one of text, json")
        }
        return format
    }

    public func list(_ key: String, default fallback: [String]) -> [String] {
        guard let raw = string(key) else { return fallback }
        return raw.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
    }
}
