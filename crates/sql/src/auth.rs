//! Users and credentials: users live in the store as `USER` objects; passwords are stored as Argon2
//! hashes and session tokens only as SHA-256 digests.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine as _;
use model::SfError;
use rand::RngCore;
use sha2::{Digest, Sha256};
use store::Op;

use crate::engine::Engine;

/// A user as login needs it.
#[derive(Debug, Clone)]
pub struct User {
    /// The user's name (stored upper-case unless created quoted).
    pub name: String,
    /// The role a new session starts with: DEFAULT_ROLE if it is granted to the user (PUBLIC
    /// otherwise), or a token's ROLE_RESTRICTION.
    pub default_role: String,
    /// DEFAULT_WAREHOUSE.
    pub default_warehouse: Option<String>,
    /// DEFAULT_NAMESPACE (`DB` or `DB.SCHEMA`).
    pub default_namespace: Option<String>,
}

/// Marker object: ACCOUNTADMIN was granted to ADMIN once (revoking it is final).
const ADMIN_GRANT_MARKER: &str = "ADMIN_ACCOUNTADMIN";

/// Hashes a password with Argon2id and a random salt.
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16-byte salt encodes");
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 hashing cannot fail with defaults").to_string()
}

/// A random URL-safe secret of `bytes` bytes (tokens, generated passwords).
pub fn random_secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// The digest under which a token is stored.
pub fn token_digest(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates user ADMIN (role ACCOUNTADMIN) if no such user exists. Returns the generated password when it
/// had to make one up (no `password` given).
pub fn ensure_admin(engine: &Engine, password: Option<&str>) -> Result<Option<String>, SfError> {
    let catalog = engine.store().snapshot();
    if catalog.object("FLOE_INIT", "", ADMIN_GRANT_MARKER).is_none() && catalog.object("USER", "", "ADMIN").is_some() {
        // Data dirs from before roles existed: ADMIN gets ACCOUNTADMIN once.
        engine.store().commit(admin_grant_ops(chrono::Utc::now().timestamp_millis())).map_err(crate::errors::from_store)?;
    }
    if catalog.object("USER", "", "ADMIN").is_some() {
        return Ok(None);
    }
    let (password, generated) = match password {
        Some(p) if !p.is_empty() => (p.to_string(), None),
        _ => {
            let p = random_secret(18);
            (p.clone(), Some(p))
        }
    };
    let body = serde_json::json!({
        "password_hash": hash_password(&password),
        "default_role": "ACCOUNTADMIN",
        "disabled": false,
        "created_on": chrono::Utc::now().timestamp_millis(),
        "comment": "created by floe on first start",
        "owner": "ACCOUNTADMIN",
    });
    let mut ops = vec![Op::PutObject { kind: "USER".into(), scope: String::new(), name: "ADMIN".into(), body }];
    ops.extend(admin_grant_ops(chrono::Utc::now().timestamp_millis()));
    engine.store().commit(ops).map_err(crate::errors::from_store)?;
    Ok(generated)
}

/// GRANT ROLE ACCOUNTADMIN TO USER ADMIN, and the marker that it was done.
fn admin_grant_ops(at: i64) -> Vec<Op> {
    use crate::access::privileges::{GrantRecord, Securable, kind};
    let record = GrantRecord {
        privilege: "USAGE".into(),
        on: Securable::account_object(kind::ROLE, "ACCOUNTADMIN"),
        incarnation: 0,
        grantee_type: "USER".into(),
        grantee: "ADMIN".into(),
        grant_option: false,
        granted_by: String::new(),
        created_on: at,
    };
    vec![
        Op::PutObject { kind: crate::access::GRANT.into(), scope: String::new(), name: record.key(), body: serde_json::to_value(&record).expect("grant serialises") },
        Op::PutObject { kind: "FLOE_INIT".into(), scope: String::new(), name: ADMIN_GRANT_MARKER.into(), body: serde_json::json!({"created_on": at}) },
    ]
}

/// The role a session of `user` starts with when it asks for `requested` (None: the user's default):
/// a requested role must be granted to the user (`390189` otherwise, Snowflake's login error); a
/// default role that is not (or no longer) granted falls back to PUBLIC.
pub fn login_role(engine: &Engine, user: &str, requested: Option<&str>) -> Result<String, SfError> {
    let catalog = engine.store().snapshot();
    let index = crate::access::privileges::index(engine, &catalog);
    let usable = index.user_roles(user);
    match requested {
        Some(role) if usable.contains(role) => Ok(role.to_string()),
        Some(role) => Err(SfError::new(
            "390189",
            "08004",
            model::ErrorKind::Unauthenticated,
            format!("Role '{role}' specified in the connect string is not granted to this user. Contact your local system administrator, or attempt to login with another role, e.g. PUBLIC."),
        )),
        None => {
            let default = crate::access::users::get(&catalog, user).and_then(|u| u.default_role).unwrap_or_else(|| "PUBLIC".into());
            Ok(if usable.contains(&default) { default } else { "PUBLIC".into() })
        }
    }
}

fn user_of(engine: &Engine, name: &str, role: String) -> User {
    let record = crate::access::users::get(&engine.store().snapshot(), name).unwrap_or_default();
    User { name: name.to_string(), default_role: role, default_warehouse: record.default_warehouse, default_namespace: record.default_namespace }
}

/// Checks a user name and password. Unquoted login names are case-insensitive, as in Snowflake.
/// Checks a login name and password (or one of the user's programmatic access tokens, which Snowflake
/// accepts in place of a password). Login names are case-insensitive, as in Snowflake.
pub fn verify_password(engine: &Engine, login: &str, password: &str) -> Result<User, SfError> {
    let catalog = engine.store().snapshot();
    let Some((name, record)) = crate::access::users::find_login(&catalog, login) else {
        // Spend the same effort as a real check so user names cannot be probed by timing.
        let _ = Argon2::default().verify_password(password.as_bytes(), &PasswordHash::new(DUMMY_HASH).expect("valid dummy"));
        return Err(SfError::bad_credentials());
    };
    let hash = record.password_hash.as_deref().unwrap_or("");
    let ok = PasswordHash::new(hash).map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok()).unwrap_or(false);
    if record.disabled {
        return Err(SfError::bad_credentials());
    }
    if !ok {
        // A programmatic access token of this user works as its password.
        return match verify_access_token(engine, password) {
            Ok(user) if user.name == name => Ok(user),
            _ => Err(SfError::bad_credentials()),
        };
    }
    let role = login_role(engine, &name, None)?;
    Ok(user_of(engine, &name, role))
}

/// A programmatic access token as `ALTER USER … ADD PROGRAMMATIC ACCESS TOKEN` creates it: the secret
/// (shown once) and what is stored (its SHA-256 digest, expiry, role restriction) in the user's
/// `access_tokens` list.
pub fn new_access_token(name: &str, days_to_expiry: u64, role_restriction: Option<&str>, now_ms: i64) -> (String, serde_json::Value) {
    let secret = format!("floe-pat-{}", random_secret(32));
    let stored = serde_json::json!({
        "name": name,
        "digest": token_digest(&secret),
        "expires_ms": now_ms + days_to_expiry as i64 * 86_400_000,
        "role_restriction": role_restriction,
        "created_ms": now_ms,
    });
    (secret, stored)
}

/// The user a programmatic access token belongs to (its role restriction, if any, as the role).
pub fn verify_access_token(engine: &Engine, token: &str) -> Result<User, SfError> {
    let digest = token_digest(token);
    let now = chrono::Utc::now().timestamp_millis();
    let catalog = engine.store().snapshot();
    for (_, name, body) in catalog.objects_of("USER") {
        let Some(tokens) = body.get("access_tokens").and_then(|t| t.as_array()) else { continue };
        for t in tokens {
            if t.get("digest").and_then(|d| d.as_str()) != Some(digest.as_str()) {
                continue;
            }
            if t.get("expires_ms").and_then(|e| e.as_i64()).unwrap_or(0) <= now || body.get("disabled").and_then(|v| v.as_bool()).unwrap_or(false) {
                return Err(invalid_token());
            }
            // A token restricted to a role the user no longer has is refused.
            let role = match t.get("role_restriction").and_then(|r| r.as_str()) {
                Some(restriction) => login_role(engine, name, Some(restriction)).map_err(|_| invalid_token())?,
                None => login_role(engine, name, None)?,
            };
            return Ok(user_of(engine, name, role));
        }
    }
    Err(invalid_token())
}

fn invalid_token() -> SfError {
    SfError::new("394400", "08004", model::ErrorKind::Unauthenticated, "Programmatic access token is invalid.")
}

const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$wJmJ8ufq3PwQIh6l/vBx8G9UCzvYJ0qVgVtQ1m1RM2Y";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash_password("pw");
        let b = hash_password("pw");
        assert_ne!(a, b);
        assert!(Argon2::default().verify_password(b"pw", &PasswordHash::new(&a).unwrap()).is_ok());
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert_eq!(token_digest("x").len(), 64);
    }
}
