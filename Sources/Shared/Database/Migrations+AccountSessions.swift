extension Migrations {
    /// The account page's session list (issue 13 item 4): each login session records the browser
    /// it was started in (its `User-Agent`, clipped) and when it was last used, so a person can
    /// recognise their devices before signing out everywhere. The index serves that list and the
    /// one-statement "sign out everywhere" (`DELETE … WHERE user_id = …`).
    static let accountSessions = Migration(version: 13, name: "account sessions", statements: [
        "ALTER TABLE login_sessions ADD COLUMN user_agent text",
        "ALTER TABLE login_sessions ADD COLUMN last_seen_at timestamptz",
        "CREATE INDEX login_sessions_user ON login_sessions (user_id)",
    ])
}
