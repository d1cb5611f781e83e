/// The HTML of the login, consent and error pages, and their stylesheet, compiled into the
/// binary so a deployment is the executable alone. Mustache escapes every `{{value}}`.
enum EmbeddedTemplates {
    static let head = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{title}} · Gatehouse</title>
<link rel="stylesheet" href="/assets/gatehouse.css">
<link rel="icon" href="data:,">
</head>
<body>
<main class="card{{#wide}} wide{{/wide}}" aria-labelledby="page-title">
<p class="brand" aria-hidden="true"><span class="mark">◆</span> Gatehouse</p>
"""#

    static let foot = #"""
</main>
<p class="footnote">Gatehouse · <span>{{issuerHost}}</span></p>
</body>
</html>
"""#

    /// The username and password fields of both sign-in forms (`login`, `accountSignIn`).
    static let credentials = #"""
  <label for="username">Username</label>
  <input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value="{{username}}" {{^username}}autofocus{{/username}}>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required {{#username}}autofocus{{/username}}>
  <button type="submit" class="primary">Sign in</button>
"""#

    static let login = #"""
{{> head}}
<h1 id="page-title">Sign in</h1>
<p class="lead">to continue to <strong>{{clientName}}</strong></p>
{{#errorMessage}}<p class="alert" role="alert">{{errorMessage}}</p>{{/errorMessage}}
{{^passwordLoginOff}}<form method="post" action="/login" class="stack">
  <input type="hidden" name="request" value="{{requestID}}">
  <input type="hidden" name="csrf" value="{{csrfToken}}">
{{> credentials}}
</form>{{/passwordLoginOff}}
{{> login-providers}}
{{#signOutCSRF}}<form method="post" action="/logout" class="signout">
  <input type="hidden" name="csrf" value="{{signOutCSRF}}">
  <p class="small">Signed in as <strong>{{signedInAs}}</strong>. <button type="submit" class="link">Sign out</button></p>
</form>{{/signOutCSRF}}
{{> foot}}
"""#

    static let consent = #"""
{{> head}}
<h1 id="page-title">Allow access?</h1>
<p class="lead"><strong>{{clientName}}</strong> wants to use your Gatehouse account <strong>{{username}}</strong>.</p>
<section class="facts" aria-label="Request details">
  {{#resourceName}}<h2>For</h2>
  <p class="resource"><strong>{{resourceName}}</strong> <code>{{resourceURL}}</code></p>{{/resourceName}}
  <h2>It will be able to</h2>
  <ul class="scopes">
  {{#scopes}}<li>{{text}} <code>{{name}}</code></li>{{/scopes}}
  </ul>
  {{> consent-connections}}
  <h2>After you decide, you will be sent to</h2>
  <p class="host"><code>{{redirectHost}}</code>{{#loopbackWarning}}<br><span class="warn">This is an app on this computer. Only continue if you just started it.</span>{{/loopbackWarning}}</p>
  {{#clientURI}}<p class="small">Publisher site: <code>{{clientURI}}</code> (as the app itself states; not verified)</p>{{/clientURI}}
  {{#dynamicallyRegistered}}<p class="small">This app registered itself with Gatehouse; its name is not verified.</p>{{/dynamicallyRegistered}}
  {{#verifiedDomain}}<p class="small">Client identity verified: <code>{{verifiedDomain}}</code> (it publishes this app's details at its client_id address)</p>{{/verifiedDomain}}
</section>
<form method="post" action="/consent" class="actions">
  <input type="hidden" name="request" value="{{requestID}}">
  <input type="hidden" name="csrf" value="{{csrfToken}}">
  <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
  <button type="submit" name="decision" value="approve" class="primary">Allow</button>
</form>
{{#signOutCSRF}}<form method="post" action="/logout" class="signout">
  <input type="hidden" name="csrf" value="{{signOutCSRF}}">
  <p class="small">Not {{username}}? <button type="submit" class="link">Sign out</button></p>
</form>{{/signOutCSRF}}
{{> foot}}
"""#

    static let error = #"""
{{> head}}
<h1 id="page-title">{{title}}</h1>
<p class="alert" role="alert">{{message}}</p>
<p class="small">Error code: <code>{{code}}</code>. Nothing was shared with the application. You can close this page and try connecting again from the app.</p>
{{> foot}}
"""#

    static let stylesheet = #"""
:root { --ink:#14213d; --muted:#5c6478; --line:#d9dde6; --bg:#f4f6fa; --accent:#2952cc; --accent-ink:#fff; --danger:#b42318; --warn:#8a5a00; }
@media (prefers-color-scheme: dark) { :root { --ink:#e8ecf4; --muted:#a3acbf; --line:#333b4d; --bg:#0f1420; --accent:#7aa2ff; --accent-ink:#0f1420; --danger:#ff8a80; --warn:#ffc46b; } .card { background:#171e2e !important; } }
* { box-sizing: border-box; }
body { margin:0; min-height:100vh; display:flex; flex-direction:column; align-items:center; justify-content:center; padding:1.5rem; background:var(--bg); color:var(--ink); font:16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.card { width:100%; max-width:26rem; background:#fff; border:1px solid var(--line); border-radius:14px; padding:2rem 1.75rem; box-shadow:0 6px 24px rgba(20,33,61,.08); }
.brand { margin:0 0 1.25rem; font-weight:600; letter-spacing:.02em; color:var(--muted); }
.mark { color:var(--accent); }
h1 { font-size:1.5rem; margin:0 0 .25rem; }
h2 { font-size:.8rem; text-transform:uppercase; letter-spacing:.06em; color:var(--muted); margin:1.25rem 0 .4rem; }
.lead { margin:0 0 1.25rem; color:var(--muted); }
.lead strong { color:var(--ink); }
.stack { display:flex; flex-direction:column; gap:.4rem; }
label { font-weight:600; font-size:.95rem; margin-top:.5rem; }
input[type=text], input[type=password] { font:inherit; padding:.65rem .75rem; border:1px solid var(--line); border-radius:8px; background:transparent; color:inherit; }
input:focus-visible, button:focus-visible { outline:3px solid var(--accent); outline-offset:2px; }
button { font:inherit; font-weight:600; padding:.7rem 1rem; border-radius:8px; border:1px solid var(--accent); cursor:pointer; }
.primary { background:var(--accent); color:var(--accent-ink); margin-top:1rem; }
.secondary { background:transparent; color:var(--accent); margin-top:1rem; }
.actions { display:flex; gap:.75rem; justify-content:flex-end; }
.actions button { flex:1; }
.scopes { margin:0; padding-left:1.1rem; }
.scopes code, .host code, .small code { font-size:.85em; background:rgba(41,82,204,.08); padding:.05rem .3rem; border-radius:4px; }
.alert { border-left:4px solid var(--danger); padding:.5rem .75rem; background:rgba(180,35,24,.07); border-radius:4px; }
.warn { color:var(--warn); font-size:.9rem; }
.small { font-size:.85rem; color:var(--muted); }
.footnote { margin-top:1rem; font-size:.8rem; color:var(--muted); }
@media (max-width: 420px) { .card { padding:1.5rem 1.1rem; border-radius:10px; } }
"""#

}
