import Foundation
import HTTPTypes
import Shared
import Testing
@testable import AuthServer

/// GATEHOUSE_TRUSTED_PROXIES (issue 13): "The source address comes from `X-Forwarded-For` only
/// for configured trusted proxy networks (CIDR list), not from a yes/no switch."
@Suite struct ClientAddressTests {
    static func proxies(_ list: String) throws -> TrustedProxies {
        try TrustedProxies(list: list.split(separator: ",").map(String.init), variable: "GATEHOUSE_TRUSTED_PROXIES")
    }

    static func ip(_ text: String) -> IPAddress { IPAddress(text)! }

    @Test("CIDR blocks: IPv4 and IPv6 membership, bare addresses, mapped IPv4")
    func networks() throws {
        let ten = try #require(IPNetwork(cidr: "10.0.0.0/8"))
        #expect(ten.contains(Self.ip("10.200.3.4")))
        #expect(!ten.contains(Self.ip("11.0.0.1")))
        #expect(!ten.contains(Self.ip("::ffff:11.0.0.1")))
        #expect(ten.contains(Self.ip("::ffff:10.0.0.1")))  // what a dual-stack socket reports
        let odd = try #require(IPNetwork(cidr: "192.168.4.0/22"))
        #expect(odd.contains(Self.ip("192.168.7.255")) && !odd.contains(Self.ip("192.168.8.0")))
        let v6 = try #require(IPNetwork(cidr: "2001:db8:ab00::/40"))
        #expect(v6.contains(Self.ip("2001:db8:abff::1")) && !v6.contains(Self.ip("2001:db8:ac00::1")))
        #expect(!v6.contains(Self.ip("10.0.0.1")))
        let one = try #require(IPNetwork(cidr: "127.0.0.1"))
        #expect(one.prefixLength == 32 && one.contains(Self.ip("127.0.0.1")) && !one.contains(Self.ip("127.0.0.2")))
        #expect(try #require(IPNetwork(cidr: "0.0.0.0/0")).contains(Self.ip("203.0.113.9")))
        for bad in ["10.0.0.0/33", "::/129", "10.0.0/8", "example.com/8", "10.0.0.0/-1", "10.0.0.0/", "", "fe80::1%eth0/64", "10.0.0.0/８"] {
            #expect(IPNetwork(cidr: bad) == nil, "\(bad)")
        }
    }

    @Test("the walk: from the right, only from a trusted peer, skipping trusted hops; the first untrusted is the client")
    func walk() throws {
        let trusted = try Self.proxies("127.0.0.1/32,10.0.0.0/8,fd00::/8")
        // The peer is not a proxy of ours: the header is the client's own claim, ignored.
        #expect(trusted.clientAddress(peer: "198.51.100.7", forwardedFor: ["203.0.113.5"]) == "198.51.100.7")
        // One proxy: the last entry is what it saw.
        #expect(trusted.clientAddress(peer: "127.0.0.1", forwardedFor: ["203.0.113.5"]) == "203.0.113.5")
        // A forged entry left of the real one is never used.
        #expect(trusted.clientAddress(peer: "127.0.0.1", forwardedFor: ["1.2.3.4, 203.0.113.5"]) == "203.0.113.5")
        // Two proxies (an edge in 10/8, then ours): the hop in 10/8 is skipped.
        #expect(trusted.clientAddress(peer: "127.0.0.1", forwardedFor: ["1.2.3.4, 203.0.113.5, 10.1.2.3"]) == "203.0.113.5")
        // Several header lines are one list, in order.
        #expect(trusted.clientAddress(peer: "127.0.0.1", forwardedFor: ["1.2.3.4", "203.0.113.5 , 10.1.2.3"]) == "203.0.113.5")
        // Every entry trusted: the leftmost (a request from inside our network).
        #expect(trusted.clientAddress(peer: "127.0.0.1", forwardedFor: ["10.9.9.9, fd00::1"]) == "10.9.9.9")
        // No header: the peer.
        #expect(trusted.clientAddress(peer: "127.0.0.1", forwardedFor: []) == "127.0.0.1")
        #expect(trusted.clientAddress(peer: "127.0.0.1", forwardedFor: [" , "]) == "127.0.0.1")
        // IPv6 clients, bracketed or not; a garbage entry ends the walk (it is not one of ours), clipped.
        #expect(trusted.clientAddress(peer: "127.0.0.1", forwardedFor: ["2001:db8::5"]) == "2001:db8::5")
        #expect(trusted.clientAddress(peer: "127.0.0.1", forwardedFor: ["[2001:db8::5]"]) == "2001:db8::5")
        // Ports and long forms are dropped: one client is one address, whatever its port.
        #expect(trusted.clientAddress(peer: "127.0.0.1", forwardedFor: ["[2001:0db8:0::5]:443"]) == "2001:db8::5")
        #expect(trusted.clientAddress(peer: "127.0.0.1", forwardedFor: ["203.0.113.5:61000"]) == "203.0.113.5")
        #expect(trusted.clientAddress(peer: "127.0.0.1", forwardedFor: ["203.0.113.5:61000, 10.0.0.1:80"]) == "203.0.113.5")
        #expect(trusted.clientAddress(peer: "127.0.0.1", forwardedFor: ["::ffff:203.0.113.5"]) == "203.0.113.5")
        #expect(trusted.clientAddress(peer: "127.0.0.1", forwardedFor: ["10.0.0.1, not-an-address"]) == "not-an-address")
        #expect(trusted.clientAddress(peer: "127.0.0.1", forwardedFor: [String(repeating: "x", count: 500)]).count == 64)
        // Default: no networks, never believed.
        #expect(TrustedProxies.none.clientAddress(peer: "127.0.0.1", forwardedFor: ["203.0.113.5"]) == "127.0.0.1")
    }

    @Test("source networks: the /24 of IPv4, the /56 of IPv6, else the text")
    func sourceNetworks() {
        #expect(sourceNetwork(of: "203.0.113.77") == "203.0.113.0/24")
        #expect(sourceNetwork(of: "::ffff:203.0.113.77") == "203.0.113.0/24")
        #expect(sourceNetwork(of: "2001:db8:aa:bbcc:1::9") == "2001:db8:aa:bb00::/56")
        #expect(sourceNetwork(of: "2001:db8:aa:bbff::1") == sourceNetwork(of: "2001:db8:aa:bb00:ffff::1"))
        #expect(sourceNetwork(of: "unknown") == "unknown")
    }

    @Test("configuration: the list parses, a bad block is named, and the old switch is refused with one clear line")
    func configuration() throws {
        let base = ["DATABASE_URL": "postgres://gatehouse@127.0.0.1:5432/gatehouse",
                    "GATEHOUSE_KEK": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="]
        func read(_ extra: [String: String]) throws -> AuthServerConfiguration {
            try AuthServerConfiguration(environment: Environment(base.merging(extra) { $1 }))
        }
        #expect(try read([:]).trustedProxies.networks.isEmpty)
        #expect(try read(["GATEHOUSE_TRUSTED_PROXIES": "127.0.0.1/32, 10.0.0.0/8,fd00::/8"]).trustedProxies.networks.count == 3)
        let bad = #expect(throws: ConfigurationError.self) { try read(["GATEHOUSE_TRUSTED_PROXIES": "10.0.0.0/8,10.0.0.300/32"]) }
        #expect(bad?.variable == "GATEHOUSE_TRUSTED_PROXIES" && bad?.problem.contains("10.0.0.300/32") == true)
        for value in ["true", "false"] {
            let old = #expect(throws: ConfigurationError.self) { try read(["GATEHOUSE_TRUST_FORWARDED_FOR": value]) }
            #expect(old?.variable == "GATEHOUSE_TRUST_FORWARDED_FOR")
            #expect(old?.problem.contains("replaced by GATEHOUSE_TRUSTED_PROXIES") == true)
        }
        // The limits: documented defaults, 0 is off, bad values named.
        let limits = try read([:]).rateLimits
        #expect(limits.registrationsPerHour == 30 && limits.tokenRequestsPerMinute == 120 && limits.authorizeRequestsPerMinute == 60)
        #expect(limits.duplicateRegistrationWindow == 86400)
        #expect(try read(["GATEHOUSE_DUPLICATE_REGISTRATION_WINDOW": "30m"]).rateLimits.duplicateRegistrationWindow == 1800)
        #expect(try read(["GATEHOUSE_RATE_LIMIT_TOKEN_REQUESTS_PER_MINUTE": "0"]).rateLimits.token.isOff)
        for (variable, value) in [("GATEHOUSE_RATE_LIMIT_TOKEN_REQUESTS_PER_MINUTE", "-1"),
                                  ("GATEHOUSE_RATE_LIMIT_REGISTRATIONS_PER_HOUR", "many"),
                                  ("GATEHOUSE_DUPLICATE_REGISTRATION_WINDOW", "31d"),
                                  ("GATEHOUSE_DUPLICATE_REGISTRATION_WINDOW", "1w")] {
            let error = #expect(throws: ConfigurationError.self) { try read([variable: value]) }
            #expect(error?.variable == variable)
        }
    }

    @Test("the old switch stops `serve` with exit 78 and one line naming its replacement")
    func oldSwitchStopsServe() async throws {
        let result = try await AdminProcess.run(["serve"], environment: [
            "DATABASE_URL": "postgres://gatehouse@127.0.0.1:1/none", "GATEHOUSE_KEK": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            "GATEHOUSE_TRUST_FORWARDED_FOR": "true", "GATEHOUSE_AUTH_PORT": "0",
        ], timeout: .seconds(20))
        #expect(result.status == 78, "\(result)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("GATEHOUSE_TRUST_FORWARDED_FOR")
                && lines[0].contains("replaced by GATEHOUSE_TRUSTED_PROXIES"), "\(result)")
    }
}
