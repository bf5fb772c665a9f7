//! Image references in specs: `/db/schema/repo/image[:tag]`, the same behind a registry host
//! (`host:port/…`, `org-acct.registry.snowflakecomputing.com/…`), and `@sha256:<hex>` digests.
//! Path parts are lower-cased, as Snowflake's registry paths are; tags keep their case. No registry
//! lookups here: resolving a tag to a digest is the caller's job.

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// `host[:port]`, lower-cased; `None` for `/db/schema/repo/image` (the account's registry).
    pub registry: Option<String>,
    pub db: String,
    pub schema: String,
    pub repo: String,
    /// The image name inside the repository; may contain `/`.
    pub image: String,
    /// Default `latest`.
    pub tag: String,
    /// `sha256:<64 hex>` when the reference pins a digest.
    pub digest: Option<String>,
}

impl ImageRef {
    /// `db/schema/repo/image:tag`: the repository path and tag, without registry or digest.
    pub fn local_name(&self) -> String {
        format!("{}:{}", self.repository_path(), self.tag)
    }

    /// `db/schema/repo/image`: the OCI repository name in floe's registry.
    pub fn repository_path(&self) -> String {
        format!("{}/{}/{}/{}", self.db, self.schema, self.repo, self.image)
    }

    /// What to resolve in the registry: the digest when pinned, else the tag.
    pub fn reference(&self) -> &str {
        self.digest.as_deref().unwrap_or(&self.tag)
    }
}

const FORM: &str = "expected /<db>/<schema>/<repository>/<image>[:<tag>] or <registry host>/<db>/<schema>/<repository>/<image>[:<tag>]";

/// Parses an image reference as written in a spec.
pub fn parse_image(image: &str) -> Result<ImageRef, String> {
    let text = image.trim();
    let invalid = |why: &str| format!("'{image}' is not a valid image name: {why}");
    if text.is_empty() {
        return Err(invalid("it is empty"));
    }
    if text.chars().any(|c| c.is_whitespace()) {
        return Err(invalid("it contains white space"));
    }
    let (rest, digest) = match text.split_once('@') {
        Some((rest, digest)) => (
            rest,
            Some(parse_digest(digest).map_err(|why| invalid(&why))?),
        ),
        None => (text, None),
    };
    // The tag follows the last ':' after the last '/' (a ':' before it is a registry port).
    let last_slash = rest.rfind('/').unwrap_or(0);
    let (path, tag) = match rest[last_slash..].rfind(':') {
        Some(colon) => {
            let at = last_slash + colon;
            (&rest[..at], Some(&rest[at + 1..]))
        }
        None => (rest, None),
    };
    let tag = match tag {
        Some(tag) => {
            check_tag(tag).map_err(|why| invalid(&why))?;
            tag.to_owned()
        }
        None => "latest".to_owned(),
    };
    let (registry, path) = if let Some(stripped) = path.strip_prefix('/') {
        (None, stripped)
    } else {
        match path.split_once('/') {
            Some((host, rest)) if is_registry_host(host) => (Some(host.to_ascii_lowercase()), rest),
            _ => return Err(invalid(FORM)),
        }
    };
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() < 4 {
        return Err(invalid(FORM));
    }
    for part in &parts {
        check_path_part(part).map_err(|why| invalid(&why))?;
    }
    let lower = |s: &str| s.to_ascii_lowercase();
    Ok(ImageRef {
        registry,
        db: lower(parts[0]),
        schema: lower(parts[1]),
        repo: lower(parts[2]),
        image: lower(&parts[3..].join("/")),
        tag,
        digest,
    })
}

/// A first path segment is a registry host when it has a dot or a port, or is `localhost`.
fn is_registry_host(host: &str) -> bool {
    host.contains('.') || host.contains(':') || host.eq_ignore_ascii_case("localhost")
}

fn parse_digest(digest: &str) -> Result<String, String> {
    let hex = digest
        .strip_prefix("sha256:")
        .ok_or_else(|| format!("digest '{digest}' must be sha256:<64 hex digits>"))?;
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("digest '{digest}' must be sha256:<64 hex digits>"));
    }
    Ok(format!("sha256:{}", hex.to_ascii_lowercase()))
}

fn check_tag(tag: &str) -> Result<(), String> {
    let mut chars = tag.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !first_ok || !rest_ok || tag.len() > 128 {
        return Err(format!(
            "tag '{tag}' must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"
        ));
    }
    Ok(())
}

fn check_path_part(part: &str) -> Result<(), String> {
    if part.is_empty() {
        return Err("it has an empty path segment".to_owned());
    }
    let ok = part
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '$'));
    if !ok {
        return Err(format!(
            "path segment '{part}' may only contain letters, digits, '_', '.', '-' or '$'"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "d04a2d7b5fd0f3fd7c8fb1b4fd0bbb1a2e2ea2a9d5b6c7e8f9a0b1c2d3e4f173";

    #[test]
    fn account_registry_path() {
        let image = parse_image(
            "/tutorial_db/data_schema/tutorial_repository/my_echo_service_image:latest",
        )
        .unwrap();
        assert_eq!(image.registry, None);
        assert_eq!(image.db, "tutorial_db");
        assert_eq!(image.schema, "data_schema");
        assert_eq!(image.repo, "tutorial_repository");
        assert_eq!(image.image, "my_echo_service_image");
        assert_eq!(image.tag, "latest");
        assert_eq!(image.digest, None);
        assert_eq!(
            image.local_name(),
            "tutorial_db/data_schema/tutorial_repository/my_echo_service_image:latest"
        );
    }

    #[test]
    fn default_tag_and_lower_case() {
        let image = parse_image("/DB/Sch/Repo/Img").unwrap();
        assert_eq!(image.local_name(), "db/sch/repo/img:latest");
        let image = parse_image("/db/sch/repo/img:V1.2-RC").unwrap();
        assert_eq!(image.tag, "V1.2-RC");
    }

    #[test]
    fn registry_hosts() {
        let image = parse_image("127.0.0.1:8080/db/sch/repo/img:1.0").unwrap();
        assert_eq!(image.registry.as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(image.local_name(), "db/sch/repo/img:1.0");
        let image = parse_image("localhost:5000/db/sch/repo/img").unwrap();
        assert_eq!(image.registry.as_deref(), Some("localhost:5000"));
        assert_eq!(image.tag, "latest");
        let image =
            parse_image("MyOrg-MyAcct.registry.snowflakecomputing.com/DB/SCH/REPO/img:v2").unwrap();
        assert_eq!(
            image.registry.as_deref(),
            Some("myorg-myacct.registry.snowflakecomputing.com")
        );
        assert_eq!(image.repository_path(), "db/sch/repo/img");
    }

    #[test]
    fn digests() {
        let image = parse_image(&format!("/db/sch/repo/img@sha256:{HEX}")).unwrap();
        assert_eq!(image.tag, "latest");
        assert_eq!(image.digest, Some(format!("sha256:{HEX}")));
        assert_eq!(image.reference(), format!("sha256:{HEX}"));
        let image = parse_image(&format!("host:1/db/sch/repo/img:v1@sha256:{HEX}")).unwrap();
        assert_eq!(image.tag, "v1");
        assert!(
            parse_image("/db/sch/repo/img@sha256:abc")
                .unwrap_err()
                .contains("digest")
        );
        assert!(parse_image("/db/sch/repo/img@md5:abc").is_err());
    }

    #[test]
    fn nested_image_names_and_snowflake_images() {
        let image = parse_image("/db/sch/repo/team/img:1").unwrap();
        assert_eq!(image.image, "team/img");
        let image =
            parse_image("/snowflake/images/snowflake_images/monitoring-prometheus-sidecar:0.0.1")
                .unwrap();
        assert_eq!(image.db, "snowflake");
        assert_eq!(image.tag, "0.0.1");
    }

    #[test]
    fn invalid_images() {
        let err = parse_image("nginx:latest").unwrap_err();
        assert!(
            err.contains("'nginx:latest'") && err.contains("/<db>/<schema>"),
            "{err}"
        );
        assert!(parse_image("").is_err());
        assert!(parse_image("/db/sch/img:1").is_err());
        assert!(parse_image("db/sch/repo/img").is_err());
        assert!(parse_image("/db//repo/img").is_err());
        assert!(parse_image("/db/sch/repo/img:").is_err());
        assert!(parse_image("/db/sch/repo/img:-x").is_err());
        assert!(parse_image("/db/sch/repo/my img").is_err());
        assert!(parse_image("/db/sch/repo/im%g").is_err());
    }
}
