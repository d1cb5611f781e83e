import Foundation
import Yams

/// One node of the YAML configuration file together with the key path that leads to it
/// (`resources[1].upstream.http.url`), so every problem found in it names its key.
///
/// The file is read strictly: a mapping's keys must be known (`expectKeys`), each key may appear
/// once, and a value must have the expected shape (a number where a number is due, not the text
/// "60"); YAML's implicit typing is used for plain scalars only.
struct ConfigFileNode {
    let node: Yams.Node
    /// The key path from the root, as the error messages print it.
    let path: String
    /// `GATEHOUSE_CONFIG <file>`: the prefix of every message.
    let source: String

    func error(_ problem: String) -> ConfigurationError {
        ConfigurationError(path.isEmpty ? source : "\(source): \(path)", problem)
    }

    private func child(_ node: Yams.Node, key: String) -> ConfigFileNode {
        ConfigFileNode(node: node, path: path.isEmpty ? key : "\(path).\(key)", source: source)
    }

    // MARK: mappings

    /// The mapping's entries in the file's order; a key repeated is an error (YAML 1.2 §3.2.1.1:
    /// "The content of a mapping node is an unordered set of key/value node pairs, with the
    /// restriction that each of the keys is unique"), and a key that is not a plain string too.
    func entries(_ what: String = "a mapping") throws -> [(key: String, value: ConfigFileNode)] {
        guard let mapping = node.mapping else { throw error("expected \(what)") }
        var seen = Set<String>()
        var result: [(key: String, value: ConfigFileNode)] = []
        for (key, value) in mapping {
            guard let name = key.scalar?.string else { throw error("a key is not a string") }
            guard seen.insert(name).inserted else { throw child(value, key: name).error("appears more than once") }
            result.append((name, child(value, key: name)))
        }
        return result
    }

    /// The mapping's entries by name, after checking that every key is one of `allowed`.
    func fields(allowed: [String]) throws -> [String: ConfigFileNode] {
        var fields: [String: ConfigFileNode] = [:]
        for (key, value) in try entries() {
            guard allowed.contains(key) else {
                throw value.error("unknown key; expected one of \(allowed.joined(separator: ", "))")
            }
            fields[key] = value
        }
        return fields
    }

    // MARK: sequences

    func elements() throws -> [ConfigFileNode] {
        guard let sequence = node.sequence else { throw error("expected a list") }
        return sequence.enumerated().map { index, element in
            ConfigFileNode(node: element, path: "\(path)[\(index)]", source: source)
        }
    }

    // MARK: scalars

    private var isNull: Bool {
        guard let scalar = node.scalar else { return false }
        return scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// A string value; quoted or plain, but not a mapping, a list or null.
    func string() throws -> String {
        guard let scalar = node.scalar, !isNull else { throw error("expected a string") }
        return scalar.string
    }

    func nonEmptyString() throws -> String {
        let value = try string().trimmingCharacters(in: .whitespaces)
        guard !value.isEmpty else { throw error("must not be empty") }
        return value
    }

    /// `true` or `false` written as YAML booleans (a quoted "true" is a string and refused).
    func bool() throws -> Bool {
        guard let scalar = node.scalar, scalar.style == .plain else { throw error("expected true or false") }
        switch scalar.string {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: throw error("expected true or false, got \"\(scalar.string)\"")
        }
    }

    /// A whole number in `range`, written as a plain YAML integer.
    func int(in range: ClosedRange<Int>) throws -> Int {
        guard let scalar = node.scalar, scalar.style == .plain, let value = Int(scalar.string) else {
            throw error("expected a whole number")
        }
        guard range.contains(value) else {
            throw error("\(value) is outside the allowed range \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// A list of strings, in order.
    func strings() throws -> [String] {
        try elements().map { element in try element.string() }
    }

    /// A setting for the environment view: scalars as written, a list joined with commas.
    func settingValue() throws -> String {
        if node.sequence != nil { return try strings().joined(separator: ",") }
        guard let scalar = node.scalar, !isNull else { throw error("expected a value (a string, number, boolean or list)") }
        return scalar.string
    }
}
