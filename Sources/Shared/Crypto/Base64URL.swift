/// base64url without padding, as used throughout JOSE.
///
/// RFC 7515 §2: "Base64url Encoding: Base64 encoding using the URL- and filename-safe character set defined
/// in Section 5 of RFC 4648, with all trailing '=' characters omitted ... and without the inclusion of any
/// line breaks, whitespace, or other additional characters."
public enum Base64URL {
    public static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        Base64Codec.encode(bytes, alphabet: Base64Codec.urlAlphabet, padding: false)
    }

    /// Strict decoding: rejects '=', '+', '/', whitespace, an impossible length (len % 4 == 1) and
    /// non-zero trailing bits, so every byte string has exactly one accepted spelling.
    public static func decode(_ string: String) -> [UInt8]? {
        Base64Codec.decode(string, urlSafe: true, allowPadding: false)
    }
}

/// Shared base64 machinery for the url-safe (JOSE) and standard (password hashes, KEK config) alphabets.
enum Base64Codec {
    static let urlAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    static let standardAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode<S: Sequence>(_ bytes: S, alphabet: [UInt8], padding: Bool) -> String
    where S.Element == UInt8 {
        let input = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= input.count {
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            for shift in [18, 12, 6, 0] { out.append(alphabet[Int(chunk >> UInt32(shift) & 0x3F)]) }
            index += 3
        }
        let rest = input.count - index
        if rest > 0 {
            var chunk = UInt32(input[index]) << 16
            if rest == 2 { chunk |= UInt32(input[index + 1]) << 8 }
            out.append(alphabet[Int(chunk >> 18 & 0x3F)])
            out.append(alphabet[Int(chunk >> 12 & 0x3F)])
            if rest == 2 { out.append(alphabet[Int(chunk >> 6 & 0x3F)]) }
            if padding { out.append(contentsOf: Array(repeating: UInt8(ascii: "="), count: 3 - rest)) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// - Parameters:
    ///   - urlSafe: accept `-`/`_` (true) or `+`/`/` (false); never both.
    ///   - allowPadding: accept correct trailing `=` padding (unpadded input is always accepted).
    static func decode(_ string: String, urlSafe: Bool, allowPadding: Bool) -> [UInt8]? {
        var symbols = Array(string.utf8)
        if allowPadding, symbols.count % 4 == 0 {
            var pads = 0
            while pads < 2, symbols.last == UInt8(ascii: "=") {
                symbols.removeLast()
                pads += 1
            }
        }
        if symbols.count % 4 == 1 { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(symbols.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bitCount = 0
        for symbol in symbols {
            guard let value = sextet(symbol, urlSafe: urlSafe) else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bitCount += 6
            if bitCount >= 8 {
                bitCount -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bitCount)))
                accumulator &= (1 << UInt32(bitCount)) - 1
            }
        }
        // Leftover bits must be zero: otherwise several strings would decode to the same bytes.
        return accumulator == 0 ? out : nil
    }

    private static func sextet(_ symbol: UInt8, urlSafe: Bool) -> UInt8? {
        switch symbol {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return symbol - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return symbol - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return symbol - UInt8(ascii: "0") + 52
        case UInt8(ascii: "-") where urlSafe, UInt8(ascii: "+") where !urlSafe: return 62
        case UInt8(ascii: "_") where urlSafe, UInt8(ascii: "/") where !urlSafe: return 63
        default: return nil
        }
    }
}
