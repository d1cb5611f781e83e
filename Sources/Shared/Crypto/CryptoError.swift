import COpenSSL

/// A failure reported by OpenSSL (or a precondition we check before calling it).
///
/// `detail` is built from OpenSSL's per-thread error queue, which is drained while building it:
/// a stale entry left on the queue would otherwise be blamed on the next, unrelated, failure.
public struct CryptoError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let detail: String

    public init(operation: String, detail: String) {
        self.operation = operation
        self.detail = detail
    }

    /// Captures (and clears) OpenSSL's error queue for the failed `operation`.
    static func openSSL(_ operation: String) -> CryptoError {
        CryptoError(operation: operation, detail: drainOpenSSLErrors())
    }

    public var description: String { "\(operation) failed: \(detail)" }
}

/// Pops every entry from the calling thread's OpenSSL error queue and renders them, oldest first.
func drainOpenSSLErrors() -> String {
    var messages: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        var buffer = [CChar](repeating: 0, count: 256)
        let message = buffer.withUnsafeMutableBufferPointer { raw -> String in
            ERR_error_string_n(code, raw.baseAddress, raw.count)
            return String(cString: raw.baseAddress!)
        }
        messages.append(message)
    }
    return messages.isEmpty ? "no OpenSSL error reported" : messages.joined(separator: "; ")
}

/// A C string pointer with static lifetime, for OpenSSL APIs that keep the *pointer* (not a copy):
/// `OSSL_PARAM_BLD_push_*` and `OSSL_PARAM_construct_*` store the key until the params are used,
/// and a bridged Swift `String` would be a temporary that dangles by then.
func staticCString(_ string: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(string.utf8Start).assumingMemoryBound(to: CChar.self)
}
