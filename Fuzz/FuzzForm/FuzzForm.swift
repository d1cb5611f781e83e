import Foundation
import FuzzSupport
import HummingbirdCore
import Shared

// libFuzzer harness for form and query parsing: `FormBody(encoded:)` (token, revocation,
// introspection, sign-in and consent bodies) and the query of a request URI as `/authorize` reads
// it. One input is one body, and the same text as the query of `/authorize?…`. Built and run only
// by scripts/fuzz.sh (docs/testing.md "Fuzzing").
//
// Invariants, each a crash when broken:
// - every non-empty `&`-separated pair yields exactly one value, so no value or name holds a raw
//   `&` (only a decoded `%26`) and no name a raw `=` (only `%3D`);
// - parsing is stable: the parsed names and values, percent-encoded again, parse to the same;
// - `single` refuses a repeated name and answers nil for an absent or empty one;
// - `/authorize` reads a query as the same names and values as the same text as a form body.

/// Percent-encodes everything but RFC 3986's unreserved characters.
func strictlyEncoded(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")) ?? text
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzForm(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let form = FormBody(encoded: text)
    let lower = text.lowercased()
    let pairs = text.split(separator: "&", omittingEmptySubsequences: true)
    require(form.values.values.reduce(0) { $0 + $1.count } == pairs.count, "\(pairs.count) pairs gave another number of values")
    for (name, values) in form.values {
        require(!values.isEmpty, "a name without values")
        require(!name.contains("&") || lower.contains("%26"), "name \(name.debugDescription) holds a raw &")
        require(!name.contains("=") || lower.contains("%3d"), "name \(name.debugDescription) holds a raw =")
        for value in values {
            require(!value.contains("&") || lower.contains("%26"), "value \(value.debugDescription) holds a raw &")
        }
        do {
            let single = try form.single(name)
            require(values.count == 1, "single accepted a repeated name")
            require(single == (values[0].isEmpty ? nil : values[0]), "single returned another value")
        } catch {
            require(values.count > 1, "single refused a name given once")
        }
    }
    let reencoded = form.values.sorted { $0.key < $1.key }
        .flatMap { name, values in values.map { strictlyEncoded(name) + "=" + strictlyEncoded($0) } }
        .joined(separator: "&")
    require(FormBody(encoded: reencoded).values == form.values, "re-encoded form parses differently: \(reencoded.debugDescription)")

    // `/authorize` reads its query as the same format (RFC 6749 §4.1.1: "using the
    // application/x-www-form-urlencoded format"), from the URI as Hummingbird parses it. Hummingbird's
    // own `queryParameters` kept `+` and encoded names, which writing this check found (docs/testing.md).
    // A fragment or a second '?' is the URI's business.
    if !text.contains("#"), !text.contains("?") {
        let uri = URI("/authorize?" + text)
        require(uri.query == text, "the URI does not keep the query \(text.debugDescription) as sent")
        require(FormBody(query: uri).values == form.values, "/authorize reads \(text.debugDescription) unlike the form")
    }
    return 0
}

/// The entry point SwiftPM links as `main` (see `runLibFuzzer`).
@_cdecl("FuzzForm_main")
func fuzzFormMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzForm)
}
