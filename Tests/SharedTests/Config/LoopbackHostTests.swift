import Shared
import Testing

/// Issue 9 C.3: loopback is exactly 127.0.0.0/8, `[::1]` or `localhost`, never a string prefix.
@Suite("Loopback hosts")
struct LoopbackHostTests {
    @Test("IPv4 literals in 127.0.0.0/8, ::1 in any spelling, and localhost are loopback",
          arguments: ["127.0.0.1", "127.1.2.3", "127.255.255.254", "[::1]", "::1", "[0:0:0:0:0:0:0:1]", "localhost", "LOCALHOST"])
    func loopback(_ host: String) {
        #expect(HTTPURL.isLoopbackHost(host))
    }

    @Test("Names that merely start with 127. or contain a loopback literal are not loopback",
          arguments: ["127.attacker.example", "127.0.0.1.nip.io", "127.0.0.1.", "127.1", "127.0.0.01", "0x7f.0.0.1",
                      "localhost.attacker.example", "localhost.", "128.0.0.1", "10.0.0.1", "[::2]", "[::ffff:127.0.0.1]",
                      "[::1", "::1]", "[]", "", "127.0.0.1:80", "1.127.0.0.1"])
    func notLoopback(_ host: String) {
        #expect(!HTTPURL.isLoopbackHost(host))
    }
}
