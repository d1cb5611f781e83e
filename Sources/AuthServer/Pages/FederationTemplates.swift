/// The pages of sign-in through upstream identity providers (issue 12): the login page's
/// "Sign in with …" buttons (a partial of `login`) and the page a failed sign-in ends on.
extension EmbeddedTemplates {
    static let federationPages: [(name: String, template: String)] = [
        ("login-providers", loginProviders),
        ("account-providers", accountProviders),
        ("federationError", federationError),
    ]

    /// One POST form per provider, carrying the pending request and its CSRF token like the
    /// password form; `POST /login/<id>` checks both before it sends the browser anywhere.
    static let loginProviders = #"""
{{#providers}}<form method="post" action="/login/{{id}}" class="provider">
  <input type="hidden" name="request" value="{{requestID}}">
  <input type="hidden" name="csrf" value="{{csrfToken}}">
  <button type="submit" class="secondary provider-button">Sign in with {{name}}</button>
</form>
{{/providers}}
"""#

    /// The account page's sign-in buttons: one POST form per provider with the sign-in form's
    /// CSRF token (`gh_signin`); `POST /account/login/<id>` checks it before it sends the browser anywhere.
    static let accountProviders = #"""
{{#providers}}<form method="post" action="/account/login/{{id}}" class="provider">
  <input type="hidden" name="csrf" value="{{csrfToken}}">
  <button type="submit" class="secondary provider-button">Sign in with {{name}}</button>
</form>
{{/providers}}
"""#

    static let federationError = #"""
{{> head}}
<h1 id="page-title">{{title}}</h1>
<p class="alert" role="alert">{{message}}</p>
<p class="small">Error code: <code>{{code}}</code>{{#providerName}} · provider: {{providerName}}{{/providerName}}. Nothing was shared with the application.</p>
{{#requestID}}<form method="post" action="/login/restart" class="stack">
  <input type="hidden" name="request" value="{{requestID}}">
  <input type="hidden" name="csrf" value="{{csrfToken}}">
  <button type="submit" class="primary">Back to sign-in</button>
</form>{{/requestID}}
{{#accountPage}}<p><a href="/account">Back to your account page</a></p>{{/accountPage}}
{{^accountPage}}{{^requestID}}<p class="small">Start again from the app you were connecting.</p>{{/requestID}}{{/accountPage}}
{{> foot}}
"""#
}
