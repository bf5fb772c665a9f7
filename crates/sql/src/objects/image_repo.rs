//! Image repositories (spcs.md §2): schema objects naming a path in floe's own OCI registry.
//! `repository_url` is `<registry address>/<db>/<schema>/<repo>`, lower case, where the registry address
//! is `EngineConfig::registry_address` (FLOE_REGISTRY_ADDRESS, by default the server's listen address).

use std::collections::BTreeMap;

use model::{SfError, display_ident};
use serde::{Deserialize, Serialize};

use super::{IMAGE_REPOSITORY, Prop, ShowScope, Value, commit, dropped, get, message, now, put, resolve, schema_scope};
use crate::engine::Engine;
use crate::result::{QueryResult, statement_type};
use crate::session::Session;
use crate::show::{Col, build, like_matcher};

/// An image repository as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImageRepository {
    /// Name.
    pub name: String,
    /// Database.
    pub database: String,
    /// Schema.
    pub schema: String,
    /// SNOWFLAKE_FULL (default) or SNOWFLAKE_SSE.
    pub encryption: String,
    /// COMMENT.
    pub comment: Option<String>,
    /// Epoch ms.
    pub created_on: i64,
    /// Owning role.
    pub owner: String,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl ImageRepository {
    /// `<registry>/<db>/<schema>/<repo>` in lower case (`$` URL-encoded, as Snowflake does).
    pub fn repository_url(&self, registry: &str) -> String {
        format!("{}/{}", registry.to_lowercase(), self.path())
    }

    /// `<db>/<schema>/<repo>` in lower case: the registry's name prefix of the repository's images.
    pub fn path(&self) -> String {
        let part = |s: &str| s.replace('$', "%24").to_lowercase();
        format!("{}/{}/{}", part(&self.database), part(&self.schema), part(&self.name))
    }
}

/// One tagged image in floe's registry.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// The image path below the repository (`my_echo_service_image`).
    pub name: String,
    /// The tag.
    pub tag: String,
    /// The manifest digest (`sha256:…`).
    pub digest: String,
    /// When the tag was pushed, epoch ms.
    pub pushed_ms: i64,
}

/// floe's image registry as the SQL layer sees it; the server implements it over `floe-registry`.
pub trait ImageStore: Send + Sync {
    /// The tagged images of a repository (`ImageRepository::path`) in its incarnation (`created_on`).
    fn images(&self, path: &str, incarnation: i64) -> Result<Vec<Image>, String>;
    /// A repository was dropped or replaced: collect its images (in the background).
    fn repository_dropped(&self);
}

/// Why the registry refuses a principal an image repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryDenial {
    /// No such repository, or none the role can see.
    Unknown,
    /// Visible, but the privilege is missing (the message says which).
    Denied(String),
}

/// Every image repository, as (`path`, incarnation): what the registry keeps.
pub fn live_repositories(engine: &Engine) -> Vec<(String, i64)> {
    let catalog = engine.store().snapshot();
    catalog
        .objects_of(IMAGE_REPOSITORY)
        .filter_map(|(scope, name, _)| get::<ImageRepository>(&catalog, IMAGE_REPOSITORY, scope, name))
        .map(|r| (r.path(), r.created_on))
        .collect()
}

/// The registry's privilege check for `user` acting as `role` on the repository at `path`: pushing
/// needs WRITE, pulling READ or WRITE (as on stages), both USAGE on the schema; ACCOUNTADMIN and
/// owners pass. Returns the repository's incarnation.
pub fn registry_access(engine: &Engine, user: &str, role: &str, path: &str, write: bool) -> Result<i64, RegistryDenial> {
    let catalog = engine.store().snapshot();
    let Some(repo) = catalog
        .objects_of(IMAGE_REPOSITORY)
        .filter_map(|(scope, name, _)| get::<ImageRepository>(&catalog, IMAGE_REPOSITORY, scope, name))
        .find(|r| r.path() == path)
    else {
        return Err(RegistryDenial::Unknown);
    };
    let session = Session { user: user.to_string(), role: role.to_string(), ..Default::default() };
    let access = crate::access::Access::of(engine, &session, &catalog);
    let obj = crate::access::privileges::Securable::schema_object(IMAGE_REPOSITORY, &repo.database, &repo.schema, &repo.name);
    let privileges: &[&str] = if write { &["WRITE"] } else { &["READ", "WRITE"] };
    // Without USAGE on its schema the repository does not exist for the role (as a stage's does not).
    if access.require_schema_usage(&catalog, &repo.database, &repo.schema).is_err() {
        return Err(RegistryDenial::Unknown);
    }
    if access.has_any(&catalog, privileges, &obj) {
        return Ok(repo.created_on);
    }
    if access.can_see(&catalog, &obj) {
        let needed = if write { "WRITE" } else { "READ" };
        return Err(RegistryDenial::Denied(format!("Insufficient privileges to operate on image repository '{}': {needed} is required.", repo.name)));
    }
    Err(RegistryDenial::Unknown)
}

/// ENCRYPTION = (TYPE = 'SNOWFLAKE_FULL' | 'SNOWFLAKE_SSE'), shared with stages.
pub(super) fn encryption(v: &Value) -> Result<String, SfError> {
    let Value::Group(items) = v else { return Err(SfError::invalid_value("ENCRYPTION", &v.written())) };
    let mut kind = "SNOWFLAKE_FULL".to_string();
    for item in items {
        match item.key.as_str() {
            "TYPE" => {
                kind = item.value.as_keyword("TYPE")?;
                if kind != "SNOWFLAKE_FULL" && kind != "SNOWFLAKE_SSE" {
                    return Err(SfError::invalid_value("TYPE", &item.value.written()));
                }
            }
            other => return Err(SfError::compilation(format!("invalid property '{other}' for 'ENCRYPTION'"))),
        }
    }
    Ok(kind)
}

fn not_found(db: &str, schema: &str, name: &str) -> SfError {
    SfError::kind_not_found("Image repository", &format!("{}.{}.{}", display_ident(db), display_ident(schema), display_ident(name)))
}

pub(super) async fn create(engine: &Engine, session: &Session, name: Vec<String>, or_replace: bool, if_not_exists: bool, props: Vec<Prop>) -> Result<QueryResult, SfError> {
    if or_replace && if_not_exists {
        return Err(SfError::compilation("OR REPLACE and IF NOT EXISTS are incompatible."));
    }
    let catalog = engine.store().snapshot();
    let (db, schema, name) = resolve(&catalog, session, &name, "CREATE IMAGE REPOSITORY")?;
    let scope = schema_scope(&db, &schema);
    if catalog.object(IMAGE_REPOSITORY, &scope, &name).is_some() && !or_replace {
        if if_not_exists {
            return Ok(message(format!("{} already exists, statement succeeded.", display_ident(&name))));
        }
        return Err(SfError::already_exists(&display_ident(&name)));
    }
    let mut repo = ImageRepository {
        name: name.clone(),
        database: db,
        schema,
        encryption: "SNOWFLAKE_FULL".into(),
        comment: None,
        created_on: now(),
        owner: session.role.clone(),
        tags: BTreeMap::new(),
    };
    for p in &props {
        match p.key.as_str() {
            "ENCRYPTION" => repo.encryption = encryption(&p.value)?,
            "COMMENT" => repo.comment = Some(p.value.as_text("COMMENT")?),
            "TAG" => {
                if let Value::Group(tags) = &p.value {
                    for t in tags {
                        repo.tags.insert(t.key.clone(), t.value.as_text("TAG")?);
                    }
                }
            }
            other => return Err(SfError::compilation(format!("invalid property '{other}' for 'IMAGE REPOSITORY'"))),
        }
    }
    let replaced = catalog.object(IMAGE_REPOSITORY, &scope, &name).is_some();
    commit(engine, vec![put(IMAGE_REPOSITORY, &scope, &name, &repo)]).await?;
    if replaced && let Some(images) = engine.image_store() {
        images.repository_dropped();
    }
    Ok(message(format!("Image Repository {} successfully created.", display_ident(&name))))
}

pub(super) async fn drop(engine: &Engine, session: &Session, name: Vec<String>, if_exists: bool) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let (db, schema, name) = resolve(&catalog, session, &name, "DROP IMAGE REPOSITORY")?;
    let scope = schema_scope(&db, &schema);
    if get::<ImageRepository>(&catalog, IMAGE_REPOSITORY, &scope, &name).is_none() {
        if if_exists {
            return Ok(dropped(&name, false));
        }
        return Err(not_found(&db, &schema, &name));
    }
    commit(engine, vec![store::Op::DeleteObject { kind: IMAGE_REPOSITORY.into(), scope, name: name.clone() }]).await?;
    if let Some(images) = engine.image_store() {
        images.repository_dropped();
    }
    Ok(dropped(&name, true))
}

/// SHOW IMAGES IN IMAGE REPOSITORY: one row per tag (spcs.md §2.3).
pub(super) fn show_images(engine: &Engine, session: &Session, like: Option<&str>, name: Vec<String>) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let (db, schema, name) = resolve(&catalog, session, &name, "SHOW IMAGES")?;
    let Some(repo) = get::<ImageRepository>(&catalog, IMAGE_REPOSITORY, &schema_scope(&db, &schema), &name) else { return Err(not_found(&db, &schema, &name)) };
    let images = match engine.image_store() {
        Some(store) => store.images(&repo.path(), repo.created_on).map_err(SfError::internal)?,
        None => Vec::new(),
    };
    // LIKE matches the image name (case-insensitively, as every SHOW's LIKE).
    let matches = like_matcher(like);
    let rows: Vec<Image> = images.into_iter().filter(|i| matches(&i.name)).collect();
    let path = repo.path();
    Ok(build(
        statement_type::SHOW,
        vec![
            Col::Time("created_on", rows.iter().map(|r| Some(r.pushed_ms)).collect()),
            Col::Text("image_name", rows.iter().map(|r| s(&r.name)).collect()),
            Col::Text("tags", rows.iter().map(|r| s(&r.tag)).collect()),
            Col::Text("digest", rows.iter().map(|r| s(&r.digest)).collect()),
            Col::Text("image_path", rows.iter().map(|r| s(format!("{path}/{}:{}", r.name, r.tag))).collect()),
        ],
    ))
}

/// The repositories a SHOW covers, in (database, schema, name) order.
pub fn visible(engine: &Engine, session: &Session, scope: &ShowScope, like: Option<&str>) -> Result<Vec<ImageRepository>, SfError> {
    let catalog = engine.store().snapshot();
    super::shown_objects(&catalog, session, scope, IMAGE_REPOSITORY, "SHOW IMAGE REPOSITORIES", like, |r: &ImageRepository| &r.name)
}

fn s(v: impl Into<String>) -> Option<String> {
    Some(v.into())
}

pub(super) fn show(engine: &Engine, session: &Session, like: Option<&str>, scope: ShowScope) -> Result<QueryResult, SfError> {
    let rows = visible(engine, session, &scope, like)?;
    let registry = &engine.config().registry_address;
    Ok(build(
        statement_type::SHOW,
        vec![
            Col::Time("created_on", rows.iter().map(|r| Some(r.created_on)).collect()),
            Col::Text("name", rows.iter().map(|r| s(&r.name)).collect()),
            Col::Text("database_name", rows.iter().map(|r| s(&r.database)).collect()),
            Col::Text("schema_name", rows.iter().map(|r| s(&r.schema)).collect()),
            Col::Text("repository_url", rows.iter().map(|r| s(r.repository_url(registry))).collect()),
            Col::Text("owner", rows.iter().map(|r| s(&r.owner)).collect()),
            Col::Text("owner_role_type", rows.iter().map(|_| s("ROLE")).collect()),
            Col::Text("comment", rows.iter().map(|r| s(r.comment.clone().unwrap_or_default())).collect()),
            Col::Text("encryption", rows.iter().map(|r| s(&r.encryption)).collect()),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_is_lower_case_under_the_registry() {
        let repo = ImageRepository {
            name: "TUTORIAL_REPOSITORY".into(),
            database: "TUTORIAL_DB".into(),
            schema: "DATA$SCHEMA".into(),
            encryption: "SNOWFLAKE_FULL".into(),
            comment: None,
            created_on: 0,
            owner: "R".into(),
            tags: BTreeMap::new(),
        };
        assert_eq!(repo.repository_url("127.0.0.1:8080"), "127.0.0.1:8080/tutorial_db/data%24schema/tutorial_repository");
    }

    #[test]
    fn encryption_types() {
        let group = |t: &str| Value::Group(vec![Prop { key: "TYPE".into(), value: Value::Str(t.into()) }]);
        assert_eq!(encryption(&group("snowflake_sse")).unwrap(), "SNOWFLAKE_SSE");
        assert_eq!(encryption(&group("AES")).unwrap_err().message, "SQL compilation error: invalid value ['AES'] for parameter 'TYPE'");
    }
}
