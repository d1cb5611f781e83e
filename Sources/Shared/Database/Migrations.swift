/// One versioned schema change. Never edit one that has shipped: append a new one.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    /// One SQL statement per element: the extended protocol refuses multi-statement strings.
    public let statements: [String]

    /// FNV-1a over the statements, stored when applied so that an edited migration is caught.
    var checksum: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in statements.joined(separator: "\u{0}").utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}

public enum Migrations {
    public static let all: [Migration] = [initialSchema, clientMetadataDocuments, clientAuthentication, openIDConnect,
                                           revokedSigningKeys, loginAttempts, gatewaySessionKeys,
                                           preregisteredClients, apiKeys, clientReaping, rateLimits, accountSessions,
                                           userIdentities, connections, federatedLoginSecrets]

    static let initialSchema = Migration(version: 1, name: "initial schema", statements: [
        """
        CREATE TABLE users (
            id uuid PRIMARY KEY,
            username text NOT NULL UNIQUE,
            password_hash text NOT NULL,
            disabled boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """,
        """
        CREATE TABLE clients (
            client_id text PRIMARY KEY,
            secret_hash bytea,
            token_endpoint_auth_method text NOT NULL,
            client_name text,
            client_uri text,
            redirect_uris text[] NOT NULL,
            grant_types text[] NOT NULL,
            scope text NOT NULL,
            application_type text NOT NULL DEFAULT 'web',
            registration_kind text NOT NULL,
            metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            deleted_at timestamptz
        )
        """,
        """
        CREATE TABLE signing_keys (
            kid text PRIMARY KEY,
            public_jwk jsonb NOT NULL,
            private_key_sealed bytea NOT NULL,
            kek_fingerprint text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            signs_from timestamptz NOT NULL,
            retired_at timestamptz,
            unpublish_after timestamptz
        )
        """,
        """
        CREATE TABLE login_sessions (
            id_hash bytea PRIMARY KEY,
            user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL
        )
        """,
        """
        CREATE TABLE authorization_requests (
            id_hash bytea PRIMARY KEY,
            client_id text NOT NULL,
            parameters jsonb NOT NULL,
            browser_binding_hash bytea NOT NULL,
            csrf_token text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL
        )
        """,
        """
        CREATE TABLE consents (
            user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            client_id text NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
            scope text NOT NULL,
            granted_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (user_id, client_id)
        )
        """,
        """
        CREATE TABLE token_families (
            id uuid PRIMARY KEY,
            client_id text NOT NULL,
            user_id uuid NOT NULL,
            scope text NOT NULL,
            resource text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            revoked_at timestamptz,
            revoked_reason text
        )
        """,
        """
        CREATE TABLE authorization_codes (
            code_hash bytea PRIMARY KEY,
            client_id text NOT NULL,
            user_id uuid NOT NULL,
            redirect_uri text NOT NULL,
            code_challenge text NOT NULL,
            scope text NOT NULL,
            resource text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            consumed_at timestamptz,
            family_id uuid
        )
        """,
        """
        CREATE TABLE refresh_tokens (
            token_hash bytea PRIMARY KEY,
            family_id uuid NOT NULL REFERENCES token_families(id) ON DELETE CASCADE,
            scope text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            rotated_at timestamptz,
            successor_hash bytea,
            replay_sealed bytea
        )
        """,
        "CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id)",
        """
        CREATE TABLE access_tokens (
            jti text PRIMARY KEY,
            family_id uuid,
            client_id text NOT NULL,
            expires_at timestamptz NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """,
        "CREATE INDEX access_tokens_family ON access_tokens (family_id)",
        """
        CREATE TABLE revoked_access_tokens (
            seq bigserial UNIQUE,
            jti text PRIMARY KEY,
            expires_at timestamptz NOT NULL,
            revoked_at timestamptz NOT NULL DEFAULT now()
        )
        """,
        """
        CREATE TABLE audit_events (
            id bigserial PRIMARY KEY,
            occurred_at timestamptz NOT NULL DEFAULT now(),
            kind text NOT NULL,
            outcome text NOT NULL DEFAULT 'success',
            username text,
            client_id text,
            remote_address text,
            detail jsonb NOT NULL DEFAULT '{}'::jsonb
        )
        """,
        "CREATE INDEX audit_events_kind_time ON audit_events (kind, occurred_at)",
        """
        CREATE TABLE notes (
            id bigserial PRIMARY KEY,
            subject text NOT NULL,
            body text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """,
        "CREATE INDEX notes_subject ON notes (subject, id)",
    ])

    /// Clients identified by the URL of their metadata document (draft-ietf-oauth-client-id-
    /// metadata-document §4.4): when the cached copy was fetched and when it goes stale.
    static let clientMetadataDocuments = Migration(version: 2, name: "client metadata documents", statements: [
        "ALTER TABLE clients ADD COLUMN metadata_fetched_at timestamptz",
        "ALTER TABLE clients ADD COLUMN metadata_expires_at timestamptz",
    ])

    /// `private_key_jwt` (RFC 7523 §2.2) and the limits on metadata-document fetches (issue 9 A.1,
    /// C.13): a client's keys (`jwks_uri` or `jwks`) and its `token_endpoint_auth_signing_alg`;
    /// the assertion `jti`s seen, single-use across replicas until they expire; the fetches made per
    /// host in the current minute; and the operator's block list (`AuthServer clients block`).
    static let clientAuthentication = Migration(version: 3, name: "client assertions and fetch limits", statements: [
        "ALTER TABLE clients ADD COLUMN jwks_uri text",
        "ALTER TABLE clients ADD COLUMN jwks jsonb",
        "ALTER TABLE clients ADD COLUMN token_endpoint_auth_signing_alg text",
        """
        CREATE TABLE client_assertion_jtis (
            client_id text NOT NULL,
            jti text NOT NULL,
            expires_at timestamptz NOT NULL,
            PRIMARY KEY (client_id, jti)
        )
        """,
        "CREATE INDEX client_assertion_jtis_expiry ON client_assertion_jtis (expires_at)",
        """
        CREATE TABLE outbound_fetch_budgets (
            host text PRIMARY KEY,
            window_started_at timestamptz NOT NULL,
            fetches integer NOT NULL
        )
        """,
        """
        CREATE TABLE blocked_clients (
            entry text PRIMARY KEY,
            kind text NOT NULL CHECK (kind IN ('client_id', 'host')),
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """,
    ])

    /// Sign-in attempts, reserved before the password is checked, so login throttling holds
    /// under any concurrency and across replicas (see `LoginThrottle`). `account` is null for an
    /// empty username; `outcome` is `pending` until the password check settles it.
    static let loginAttempts = Migration(version: 6, name: "login attempts", statements: [
        """
        CREATE TABLE login_attempts (
            id bigserial PRIMARY KEY,
            account text,
            remote_address text NOT NULL,
            attempted_at timestamptz NOT NULL,
            outcome text NOT NULL DEFAULT 'pending' CHECK (outcome IN ('pending', 'failed', 'succeeded'))
        )
        """,
        "CREATE INDEX login_attempts_account ON login_attempts (account, attempted_at) WHERE account IS NOT NULL",
        "CREATE INDEX login_attempts_address ON login_attempts (remote_address, attempted_at)",
    ])

    /// OpenID Connect (issue 9 B): a user's optional e-mail address and display name for the ID
    /// token and userinfo; the `nonce` and the time of the sign-in (`auth_time`) that a code and
    /// then its token family carry; indexes for revoking everything a user holds at once.
    static let openIDConnect = Migration(version: 4, name: "openid connect", statements: [
        "ALTER TABLE users ADD COLUMN email text",
        "ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false",
        "ALTER TABLE users ADD COLUMN name text",
        "ALTER TABLE authorization_codes ADD COLUMN nonce text",
        "ALTER TABLE authorization_codes ADD COLUMN auth_time timestamptz",
        "ALTER TABLE token_families ADD COLUMN auth_time timestamptz",
        "CREATE INDEX authorization_codes_user ON authorization_codes (user_id)",
        "CREATE INDEX token_families_user ON token_families (user_id)",
    ])

    /// The key every ResourceServer replica MACs gateway `Mcp-Session-Id`s with (issue 11): the
    /// session id a client holds is the upstream's id plus an HMAC over (resource, subject, upstream
    /// id), so any replica can check that the caller is the user who created the session without
    /// sticky sessions or a session table. One row, created by the first replica to start.
    static let gatewaySessionKeys = Migration(version: 8, name: "gateway session keys", statements: [
        """
        CREATE TABLE gateway_session_keys (
            id smallint PRIMARY KEY CHECK (id = 1),
            key bytea NOT NULL CHECK (octet_length(key) = 32),
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """,
    ])

    /// Pre-registered clients (issue 13): created by the operator (`clients create`, or the config
    /// file's `clients:`) with `registration_kind` 'preregistered', which reaping will exempt.
    /// `trusted` (first-party clients only) skips the consent page.
    static let preregisteredClients = Migration(version: 9, name: "pre-registered clients", statements: [
        "ALTER TABLE clients ADD COLUMN trusted boolean NOT NULL DEFAULT false",
    ])

    /// Signing keys retired at once after a compromise (`AuthServer keys retire --immediately`).
    /// Every resource server polls this table next to `revoked_access_tokens` and refuses any
    /// token whose `kid` is listed, cached validations included.
    static let revokedSigningKeys = Migration(version: 5, name: "revoked signing keys", statements: [
        """
        CREATE TABLE revoked_signing_keys (
            kid text PRIMARY KEY,
            revoked_at timestamptz NOT NULL DEFAULT now()
        )
        """,
    ])
}
