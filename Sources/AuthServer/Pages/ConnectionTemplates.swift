/// The connection pages (issue 12, "Connections"): the error page of a failed connect, with the
/// reason and a way back, and the account page's Connections section (a partial).
extension EmbeddedTemplates {
    static let connectionError = #"""
{{> head}}
<h1 id="page-title">{{title}}</h1>
<p class="alert" role="alert">{{message}}</p>
<p class="small">Error code: <code>{{code}}</code>. Nothing was stored.</p>
<p><a href="{{backURL}}">{{backText}}</a></p>
{{> foot}}
"""#

    static let accountConnections = #"""
{{#hasConnections}}
<section class="section" aria-labelledby="connections-title">
<h2 id="connections-title">Connections</h2>
<p class="small">Accounts at other services that tools use on your behalf.</p>
<ul class="items">
{{#connections}}
<li class="item" data-connection="{{id}}">
  <p class="item-title"><strong>{{name}}</strong> <span class="badge">{{state}}</span></p>
  {{#stored}}<p class="small">Updated <span class="when">{{updatedAt}}</span></p>{{/stored}}
  <p><a class="button" href="{{connectURL}}">{{#stored}}Reconnect{{/stored}}{{^stored}}Connect{{/stored}} {{name}}</a></p>
  {{#stored}}<form method="post" action="/account/connections/disconnect">
    <input type="hidden" name="csrf" value="{{csrfToken}}">
    <input type="hidden" name="connection" value="{{id}}">
    <button type="submit" class="danger" aria-label="Disconnect {{name}}">Disconnect</button>
  </form>{{/stored}}
</li>
{{/connections}}
</ul>
</section>
{{/hasConnections}}
"""#

    /// The consent page's part: the connections this resource's tools need.
    static let consentConnections = #"""
{{#hasConnections}}<h2>Its tools use your accounts at</h2>
  <ul class="connections">
  {{#connections}}<li>{{name}}: {{#connected}}connected{{/connected}}{{^connected}}{{#broken}}needs reconnecting. {{/broken}}<a class="connect" href="{{connectURL}}">Connect {{name}}</a>{{/connected}}</li>{{/connections}}
  </ul>{{/hasConnections}}
"""#

    static let connectionPages: [(String, String)] = [
        ("connection-error", connectionError), ("account-connections", accountConnections),
        ("consent-connections", consentConnections),
    ]
}
