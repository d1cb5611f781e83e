/// The account page (issue 13 item 4) and the pages around it: its sign-in form, the signed-out
/// page, the page that shows a new API key once, and its error page. Same head, stylesheet and
/// Content-Security-Policy as the login and consent pages; no script at all, so everything works
/// without JavaScript. Every state-changing control is a POST form carrying `csrf`.
extension EmbeddedTemplates {
    static let accountSignIn = #"""
{{> head}}
<h1 id="page-title">Sign in</h1>
<p class="lead">to manage your Gatehouse account</p>
{{#errorMessage}}<p class="alert" role="alert">{{errorMessage}}</p>{{/errorMessage}}
{{^passwordLoginOff}}<form method="post" action="/account/login" class="stack">
  <input type="hidden" name="csrf" value="{{csrfToken}}">
{{> credentials}}
</form>{{/passwordLoginOff}}
{{> account-providers}}
{{> foot}}
"""#

    static let account = #"""
{{> head}}
<h1 id="page-title">Your account</h1>
<p class="lead">Signed in as <strong>{{username}}</strong></p>
{{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}

<section class="section" aria-labelledby="apps-title">
<h2 id="apps-title">Apps that can act for you</h2>
{{^apps}}<p class="small">No app can act for you at the moment.</p>{{/apps}}
<ul class="items">
{{#apps}}
<li class="item" data-client-name="{{name}}">
  <p class="item-title"><strong>{{name}}</strong></p>
  <p class="small">{{#verifiedDomain}}verified domain <code>{{verifiedDomain}}</code>{{/verifiedDomain}}{{#registeredItself}}registered itself (its name is not verified){{/registeredItself}}{{#byAdministrator}}added by your administrator{{/byAdministrator}}</p>
  <ul class="grants">
  {{#grants}}<li><span class="resource-name">{{resourceName}}</span> <code>{{resource}}</code><br>{{#scopes}}<code>{{.}}</code> {{/scopes}}</li>{{/grants}}
  </ul>
  <p class="small">First used <span class="when">{{firstUse}}</span> · last used <span class="when">{{lastUse}}</span></p>
  <form method="post" action="/account/apps/revoke">
    <input type="hidden" name="csrf" value="{{csrfToken}}">
    <input type="hidden" name="client_id" value="{{clientID}}">
    <button type="submit" class="danger" aria-label="Revoke access for {{name}}">Revoke</button>
  </form>
</li>
{{/apps}}
</ul>
</section>

{{> account-connections}}

<section class="section" aria-labelledby="keys-title">
<h2 id="keys-title">API keys</h2>
{{^keysEnabled}}<p class="small">API keys are switched off on this server.</p>{{/keysEnabled}}
{{#keysEnabled}}
<p class="small">For apps that can only send a fixed <code>Authorization: Bearer</code> header. A key acts as you at one resource, with the scopes you choose.</p>
{{^keys}}<p class="small">You have no API keys.</p>{{/keys}}
<ul class="items">
{{#keys}}
<li class="item">
  <p class="item-title"><strong>{{name}}</strong> <span class="badge">{{state}}</span></p>
  <p class="small"><code>{{resource}}</code><br>{{#scopes}}<code>{{.}}</code> {{/scopes}}</p>
  <p class="small">Created <span class="when">{{createdAt}}</span> · expires <span class="when">{{expiresAt}}</span> · last used <span class="when">{{lastUsed}}</span></p>
  {{#active}}<form method="post" action="/account/keys/revoke">
    <input type="hidden" name="csrf" value="{{csrfToken}}">
    <input type="hidden" name="key_id" value="{{id}}">
    <button type="submit" class="danger" aria-label="Revoke the key {{name}}">Revoke</button>
  </form>{{/active}}
</li>
{{/keys}}
</ul>
<h3>Create a key</h3>
<form method="post" action="/account/keys" class="stack">
  <input type="hidden" name="csrf" value="{{csrfToken}}">
  <label for="key-name">Name</label>
  <input id="key-name" name="name" type="text" maxlength="200" required placeholder="My laptop">
  <label for="key-resource">Resource</label>
  <select id="key-resource" name="resource">
  {{#resources}}<option value="{{identifier}}">{{name}}</option>{{/resources}}
  </select>
  <fieldset class="scopes-choice">
    <legend>Scopes (of the resource chosen above)</legend>
    {{#resources}}{{#showName}}<p class="small">{{name}}</p>{{/showName}}
    {{#scopes}}<label class="check"><input type="checkbox" name="scope" value="{{name}}"> <span>{{text}} <code>{{name}}</code></span></label>{{/scopes}}{{/resources}}
  </fieldset>
  <label for="key-expires">Expires after</label>
  <select id="key-expires" name="expires">
    <option value="7">7 days</option><option value="30" selected>30 days</option><option value="90">90 days</option><option value="365">365 days</option>
  </select>
  <button type="submit" class="primary">Create key</button>
</form>
{{/keysEnabled}}
</section>

<section class="section" aria-labelledby="sessions-title">
<h2 id="sessions-title">Sessions</h2>
<ul class="items">
{{#sessions}}
<li class="item">
  <p class="item-title"><strong>{{device}}</strong>{{#current}} <span class="badge">this device</span>{{/current}}</p>
  <p class="small">Signed in <span class="when">{{createdAt}}</span> · last seen <span class="when">{{lastSeen}}</span> · expires <span class="when">{{expiresAt}}</span></p>
</li>
{{/sessions}}
</ul>
<div class="actions">
  <form method="post" action="/logout">
    <input type="hidden" name="csrf" value="{{csrfToken}}">
    <button type="submit" class="secondary">Sign out</button>
  </form>
  <form method="post" action="/account/sessions/sign-out-everywhere">
    <input type="hidden" name="csrf" value="{{csrfToken}}">
    <button type="submit" class="danger">Sign out everywhere</button>
  </form>
</div>
</section>
{{> foot}}
"""#

    static let apiKeyCreated = #"""
{{> head}}
<h1 id="page-title">Your new API key</h1>
<p class="lead">Copy it now: it is shown only this once, and Gatehouse keeps only its hash.</p>
<p class="secret"><code id="api-key">{{key}}</code></p>
<section class="facts" aria-label="Key details">
  <h2>Name</h2><p>{{name}}</p>
  <h2>Works at</h2><p><code>{{resource}}</code></p>
  <h2>Scopes</h2><p>{{#scopes}}<code>{{.}}</code> {{/scopes}}</p>
  <h2>Expires</h2><p><span class="when">{{expiresAt}}</span></p>
</section>
<p class="small">Send it as <code>Authorization: Bearer &lt;key&gt;</code>. Revoke it on your account page if it leaks.</p>
<p><a class="button-link" href="/account">Back to your account</a></p>
{{> foot}}
"""#

    static let signedOut = #"""
{{> head}}
<h1 id="page-title">{{heading}}</h1>
<p class="lead">{{message}}</p>
<p><a class="button-link" href="/account">Sign in again</a></p>
{{> foot}}
"""#

    static let accountError = #"""
{{> head}}
<h1 id="page-title">{{heading}}</h1>
<p class="alert" role="alert">{{message}}</p>
<p class="small">Nothing was changed.</p>
<p><a class="button-link" href="/account">Back to your account</a></p>
{{> foot}}
"""#

    /// Served after the login and consent stylesheet, in the same file.
    static let accountStylesheet = #"""
.card.wide { max-width:40rem; }
.section { margin-top:1.5rem; }
h3 { font-size:1rem; margin:1.25rem 0 .25rem; }
.items { list-style:none; margin:0; padding:0; display:flex; flex-direction:column; gap:.75rem; }
.item { border:1px solid var(--line); border-radius:10px; padding:.75rem .9rem; }
.item p { margin:.15rem 0; }
.item-title { overflow-wrap:anywhere; }
.grants { margin:.25rem 0; padding-left:1.1rem; font-size:.9rem; }
code { overflow-wrap:anywhere; word-break:break-word; }
.item code, .secret code { font-size:.85em; background:rgba(41,82,204,.08); padding:.05rem .3rem; border-radius:4px; }
.secret code { display:block; padding:.6rem .75rem; font-size:.95rem; user-select:all; }
.badge { font-size:.75rem; font-weight:600; border:1px solid var(--line); border-radius:999px; padding:.05rem .5rem; color:var(--muted); white-space:nowrap; }
.danger { background:transparent; color:var(--danger); border-color:var(--danger); margin-top:.5rem; }
.link { background:none; border:none; padding:0; margin:0; color:var(--accent); text-decoration:underline; font-weight:600; font-size:inherit; }
.notice { border-left:4px solid var(--accent); padding:.5rem .75rem; background:rgba(41,82,204,.07); border-radius:4px; }
.signout { margin-top:1rem; }
select { font:inherit; padding:.55rem .6rem; border:1px solid var(--line); border-radius:8px; background:transparent; color:inherit; max-width:100%; }
fieldset { border:1px solid var(--line); border-radius:8px; margin:.5rem 0 0; padding:.5rem .75rem; min-width:0; }
legend { font-weight:600; font-size:.95rem; padding:0 .25rem; }
.check { display:flex; gap:.5rem; align-items:flex-start; font-weight:400; margin-top:.35rem; }
.check input { margin-top:.3rem; }
.button-link { color:var(--accent); font-weight:600; }
.actions form { flex:1; display:flex; }
.when { white-space:nowrap; }
@media (max-width: 420px) { body { padding:.75rem; } }
"""#
}

extension EmbeddedTemplates {
    /// The account templates by the names `PageRenderer` registers them under.
    static let accountPages: [(String, String)] = [
        ("account-sign-in", accountSignIn), ("account", account), ("api-key-created", apiKeyCreated),
        ("signed-out", signedOut), ("account-error", accountError),
    ]
}
