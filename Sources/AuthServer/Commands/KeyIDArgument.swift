import Shared

/// A signing key's `kid` is its RFC 7638 thumbprint: "the base64url encoding of the JWK
/// Thumbprint" (§3.1), 43 characters of `A–Z a–z 0–9 - _`. So about one key in 64 has a kid that
/// starts with `-`, and the argument parser reads `keys retire -jGa…h…` as a bundle of short
/// flags: the `h` in it printed the help and exited 0, in the middle of a key compromise.
///
/// Before parsing, every argument of exactly that shape is moved behind a `--` terminator, where
/// the parser takes it as a positional value. No option of ours has that shape (the longest is
/// far shorter than 43 characters), so nothing else changes; `keys retire -- <kid>` still works.
enum KeyIDArgument {
    static func protectingDashLeadingKeyIDs(_ arguments: [String]) -> [String] {
        if arguments.contains("--") { return arguments }
        let (keyIDs, rest) = arguments.reduce(into: ([String](), [String]())) { split, argument in
            if looksLikeDashLeadingKeyID(argument) { split.0.append(argument) } else { split.1.append(argument) }
        }
        return keyIDs.isEmpty ? arguments : rest + ["--"] + keyIDs
    }

    /// Starts with `-` and is, in strict base64url, the 32 bytes of a SHA-256 thumbprint.
    static func looksLikeDashLeadingKeyID(_ argument: String) -> Bool {
        argument.hasPrefix("-") && Base64URL.decode(argument)?.count == 32
    }
}
