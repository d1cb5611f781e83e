import Foundation
import Logging
import Shared

/// Each OpenID provider's discovery document and JWKS, per process.
///
/// The discovery document is kept an hour (Discovery §4 names no lifetime; providers change it
/// rarely). The key set is kept for its `Cache-Control: max-age`, clamped to [5 min, 1 h]; an ID
/// token whose `kid` is not in the set refetches it (a key rotation), at most once per 30 s, so a
/// stream of forged `kid`s cannot make Gatehouse hammer the provider.
actor OIDCProviderCache {
    static let metadataLifetime: TimeInterval = 3600
    static let minimumKeyLifetime: TimeInterval = 300
    static let maximumKeyLifetime: TimeInterval = 3600
    static let refetchInterval: TimeInterval = 30

    private var metadata: [String: (value: OIDCProviderMetadata, until: Date)] = [:]
    private var keys: [String: (value: [JWSPublicKey], until: Date, fetchedAt: Date)] = [:]

    func metadata(for provider: IdentityProviderConfiguration, now: Date) async throws(FederationFailure) -> OIDCProviderMetadata {
        if let cached = metadata[provider.id], cached.until > now { return cached.value }
        let issuer = provider.issuer ?? ""
        let answer = try await ProviderHTTPClient(allowLoopback: provider.allowInsecureLoopback)
            .get(OIDCProviderMetadata.discoveryURL(issuer: issuer))
        guard answer.status == 200 else {
            throw FederationFailure(answer.status >= 500 ? .providerUnavailable : .providerError,
                                    "the provider's discovery document answered HTTP \(answer.status)")
        }
        guard let document = answer.json(OIDCProviderMetadata.self) else {
            throw FederationFailure(.providerError, "the provider's discovery document is not valid OpenID Provider metadata")
        }
        if let problem = document.problem(expectedIssuer: issuer, allowInsecureLoopback: provider.allowInsecureLoopback) {
            throw FederationFailure(.providerError, problem)
        }
        metadata[provider.id] = (document, now.addingTimeInterval(Self.metadataLifetime))
        return document
    }

    /// The provider's signing keys; `refresh` asks for a refetch (no cached key matched the `kid`).
    func keys(for provider: IdentityProviderConfiguration, jwksURI: String, now: Date,
              refresh: Bool = false) async throws(FederationFailure) -> [JWSPublicKey] {
        if let cached = keys[provider.id] {
            let mayRefetch = now.timeIntervalSince(cached.fetchedAt) >= Self.refetchInterval
            if cached.until > now && !(refresh && mayRefetch) { return cached.value }
            if !mayRefetch { return cached.value }
        }
        let answer = try await ProviderHTTPClient(allowLoopback: provider.allowInsecureLoopback).get(jwksURI)
        guard answer.status == 200, let set = answer.json(JWKS.self) else {
            throw FederationFailure(answer.status >= 500 ? .providerUnavailable : .providerError,
                                    "the provider's JWKS could not be read (HTTP \(answer.status))")
        }
        let usable = ClientKeyMetadata.usableKeys(set)
        guard !usable.isEmpty else { throw FederationFailure(.providerError, "the provider's JWKS has no usable signing key") }
        let lifetime = min(max(TimeInterval(ClientMetadataFetcher.maxAge(answer.cacheControl) ?? 0), Self.minimumKeyLifetime),
                           Self.maximumKeyLifetime)
        keys[provider.id] = (usable, now.addingTimeInterval(lifetime), now)
        return usable
    }
}
