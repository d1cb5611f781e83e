import Foundation

extension KeyEncryptionKey {
    /// Reads a key-encryption key file as `GATEHOUSE_KEK_FILE` holds it: base64 of 32 bytes
    /// (`openssl rand -base64 32`), surrounding whitespace ignored. The error names the file,
    /// never its content.
    public init(contentsOfFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KeyEncryptionError.invalidKey("cannot read \(path)")
        }
        do {
            try self.init(base64: String(decoding: data, as: UTF8.self))
        } catch {
            throw KeyEncryptionError.invalidKey("\(path) must contain a base64-encoded 32-byte key (openssl rand -base64 32)")
        }
    }
}
