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
    public static let all: [Migration] = [initialSchema, clientMetadataDocuments]

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
}
