import Foundation
import Shared

/// The values of the account page's template, from what the stores return. Pure: the endpoint
/// reads, this arranges.
struct AccountPage {
    let username: String
    let csrfToken: String
    let grants: [UserGrantStore.Grant]
    /// Nil when API keys are switched off (`GATEHOUSE_API_KEYS=false`).
    let keys: [APIKeyRecord]?
    let sessions: [SessionStore.LoginSession]
    let resources: ProtectedResourceCatalog
    let notice: String?
    let now: Date

    /// What `?done=` may say after an action; anything else shows nothing (the page never echoes
    /// text from the URL).
    static let notices: [String: String] = [
        "app-revoked": "Access revoked. The app can no longer act for you, and has to ask you again to reconnect.",
        "key-revoked": "The API key was revoked. It stops working within a second.",
        "nothing-to-revoke": "That app had no access left to revoke.",
        "connection-made": "Connected. Tools can now use that account for you.",
        "connection-removed": "Disconnected. Gatehouse no longer holds tokens for that account.",
        "nothing-to-disconnect": "That connection was not connected.",
    ]

    var values: [String: Any] {
        var values: [String: Any] = [
            "title": "Your account", "wide": true, "username": username, "csrfToken": csrfToken,
            "apps": apps, "sessions": sessionItems, "keysEnabled": keys != nil,
        ]
        if let notice { values["notice"] = notice }
        if let keys {
            values["keys"] = keys.map(keyItem)
            values["resources"] = resources.resources.map { resource in
                [
                    "identifier": resource.identifier.value, "name": resource.name, "showName": resources.resources.count > 1,
                    "scopes": resource.configuration.scopes.map { ["name": $0.name, "text": $0.consentText] },
                ] as [String: Any]
            }
        }
        return values
    }

    /// One entry per client, its resources under it, in the order of last use.
    private var apps: [[String: Any]] {
        var order: [String] = []
        var byClient: [String: [UserGrantStore.Grant]] = [:]
        for grant in grants {
            if byClient[grant.clientID] == nil { order.append(grant.clientID) }
            byClient[grant.clientID, default: []].append(grant)
        }
        return order.map { clientID in
            let grants = byClient[clientID]!
            let first = grants[0]
            var app: [String: Any] = [
                "clientID": clientID, "name": first.clientName ?? clientID,
                "firstUse": Self.format(grants.map(\.firstUse).min()), "lastUse": Self.format(grants.map(\.lastUse).max()),
                "grants": grants.map { grant in
                    [
                        "resource": grant.resource,
                        "resourceName": ResourceIdentifier(grant.resource).flatMap(resources.resource(for:))?.name ?? "",
                        "scopes": grant.scope.split(separator: " ").map(String.init),
                    ] as [String: Any]
                },
            ]
            switch first.registrationKind {
            case Client.metadataDocumentKind?:
                // MCP 2025-11-25: what the metadata document proved is the client_id URL's host.
                app["verifiedDomain"] = ClientMetadataDocument.verifiedHost(of: clientID) ?? clientID
            case "dynamic"?: app["registeredItself"] = true
            case .some: app["byAdministrator"] = true
            case nil: break
            }
            return app
        }
    }

    private func keyItem(_ key: APIKeyRecord) -> [String: Any] {
        let state = key.state(now: now)
        return [
            "id": key.id.uuidString.lowercased(), "name": key.name ?? "unnamed key", "state": state, "active": state == "active",
            "resource": key.resource, "scopes": key.scope.tokens, "createdAt": Self.format(key.createdAt),
            "expiresAt": Self.format(key.expiresAt), "lastUsed": key.lastUsedAt.map { Self.format($0) } ?? "never",
        ]
    }

    private var sessionItems: [[String: Any]] {
        sessions.map { session in
            [
                "device": Self.device(session.userAgent), "current": session.isCurrent,
                "createdAt": Self.format(session.createdAt), "expiresAt": Self.format(session.expiresAt),
                "lastSeen": Self.format(session.lastSeenAt ?? session.createdAt),
            ] as [String: Any]
        }
    }

    /// `2026-12-01 19:42 UTC`: readable, the same on every device (the page has no script to localise it).
    static func format(_ date: Date?) -> String {
        guard let date else { return "-" }
        let parts = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: date)
        func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        return "\(parts.year ?? 0)-\(two(parts.month))-\(two(parts.day)) \(two(parts.hour)):\(two(parts.minute)) UTC"
    }

    /// "Chrome on Linux" from a `User-Agent`: enough to recognise a device, not a fingerprint.
    static func device(_ userAgent: String?) -> String {
        guard let userAgent else { return "Unknown browser" }
        let browsers = [("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"),
                        ("curl/", "curl"), ("python-httpx/", "Python httpx")]
        let systems = [("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
                       ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux")]
        let browser = browsers.first { userAgent.contains($0.0) }?.1
        let system = systems.first { userAgent.contains($0.0) }?.1
        switch (browser, system) {
        case let (browser?, system?): return "\(browser) on \(system)"
        case let (browser?, nil): return browser
        case let (nil, system?): return "A browser on \(system)"
        case (nil, nil): return String(userAgent.prefix(60))
        }
    }
}
