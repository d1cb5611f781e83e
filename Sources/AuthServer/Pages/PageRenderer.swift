import Foundation
import HTTPTypes
import Hummingbird
import Shared
import Mustache
import NIOCore

/// Renders the server's own HTML pages with the headers every one of them needs.
struct PageRenderer: Sendable {
    let library: MustacheLibrary
    let issuerHost: String

    init(issuer: String) throws {
        var library = MustacheLibrary()
        try library.register(EmbeddedTemplates.head, named: "head")
        try library.register(EmbeddedTemplates.foot, named: "foot")
        try library.register(EmbeddedTemplates.credentials, named: "credentials")
        try library.register(EmbeddedTemplates.login, named: "login")
        try library.register(EmbeddedTemplates.consent, named: "consent")
        try library.register(EmbeddedTemplates.error, named: "error")
        for (name, template) in EmbeddedTemplates.accountPages { try library.register(template, named: name) }
        for (name, template) in EmbeddedTemplates.connectionPages { try library.register(template, named: name) }
        for (name, template) in EmbeddedTemplates.federationPages { try library.register(template, named: name) }
        self.library = library
        self.issuerHost = URLComponents(string: issuer)?.host ?? issuer
    }

    func render(_ template: String, status: HTTPResponse.Status = .ok, _ values: [String: Any]) -> Response {
        var values = values
        values["issuerHost"] = issuerHost
        let html = library.render(values, withTemplate: template) ?? "<h1>Page unavailable</h1>"
        var headers = Self.securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func errorPage(_ error: ErrorPageContent, status: HTTPResponse.Status = .badRequest) -> Response {
        render("error", status: status, [
            "title": "This sign-in link can't be used", "message": error.message, "code": error.code,
        ])
    }

    /// No framing (clickjacking), no sniffing, no caching of pages that carry CSRF tokens, and no
    /// `form-action` directive: it would block the consent form's redirect to the client in real
    /// browsers (see ../shared/research/clients.md pitfall 13).
    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy: "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
        .xFrameOptions: "DENY",
        .xContentTypeOptions: "nosniff",
        .referrerPolicy: "no-referrer",
        .cacheControl: "no-store",
    ]

    static func stylesheet() -> Response {
        Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "public, max-age=3600"],
                 body: .init(byteBuffer: ByteBuffer(string: EmbeddedTemplates.stylesheet + EmbeddedTemplates.accountStylesheet)))
    }
}

/// What an error page shows.
struct ErrorPageContent {
    let code: String
    let message: String
}

extension HTTPField.Name {
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}
