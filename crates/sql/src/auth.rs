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
    /// Login name (stored upper-case unless created quoted).
    pub name: String,
    /// The role a new session starts with.
    pub default_role: String,
}

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
    if engine.store().snapshot().object("USER", "", "ADMIN").is_some() {
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
    });
    engine
        .store()
        .commit(vec![Op::PutObject { kind: "USER".into(), scope: String::new(), name: "ADMIN".into(), body }])
        .map_err(crate::errors::from_store)?;
    Ok(generated)
}

/// Checks a user name and password. Unquoted login names are case-insensitive, as in Snowflake.
pub fn verify_password(engine: &Engine, login: &str, password: &str) -> Result<User, SfError> {
    let catalog = engine.store().snapshot();
    let body = catalog.object("USER", "", login).or_else(|| catalog.object("USER", "", &login.to_uppercase())).cloned();
    let Some(body) = body else {
        // Spend the same effort as a real check so user names cannot be probed by timing.
        let _ = Argon2::default().verify_password(password.as_bytes(), &PasswordHash::new(DUMMY_HASH).expect("valid dummy"));
        return Err(SfError::bad_credentials());
    };
    let hash = body.get("password_hash").and_then(|v| v.as_str()).unwrap_or("");
    let ok = PasswordHash::new(hash).map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok()).unwrap_or(false);
    if !ok || body.get("disabled").and_then(|v| v.as_bool()).unwrap_or(false) {
        return Err(SfError::bad_credentials());
    }
    let name = if catalog.object("USER", "", login).is_some() { login.to_string() } else { login.to_uppercase() };
    let default_role = body.get("default_role").and_then(|v| v.as_str()).unwrap_or("PUBLIC").to_string();
    Ok(User { name, default_role })
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
                return Err(SfError::new("394400", "08004", model::ErrorKind::Unauthenticated, "Programmatic access token is invalid."));
            }
            let default_role = body.get("default_role").and_then(|v| v.as_str()).unwrap_or("PUBLIC");
            let role = t.get("role_restriction").and_then(|r| r.as_str()).unwrap_or(default_role);
            return Ok(User { name: name.to_string(), default_role: role.to_string() });
        }
    }
    Err(SfError::new("394400", "08004", model::ErrorKind::Unauthenticated, "Programmatic access token is invalid."))
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
