//! Temporary tables (and stages, see `objects::stage`): stored under `<name>\u{1e}<session id>` so one
//! can shadow a permanent table of the same name and stays invisible to other sessions. They carry the `temporary_session` option and are
//! dropped when their session ends (and at start, since sessions do not survive a restart).

use std::sync::Arc;

use store::{Catalog, Op, Table};

/// Table option naming the session that owns a temporary table.
pub const TEMPORARY_SESSION: &str = "temporary_session";

/// Separates a temporary table's name from its owning session in the stored name.
const SEPARATOR: char = '\u{1e}';

/// The stored name of session `session`'s temporary table `name`.
pub fn stored_name(name: &str, session: u64) -> String {
    format!("{name}{SEPARATOR}{session}")
}

/// The name users see for a stored table name.
pub fn shown(stored: &str) -> &str {
    stored.split(SEPARATOR).next().unwrap_or(stored)
}

/// True when `session` may see the table stored as `stored`: everyone's, or its own temporary one.
pub fn visible_to(stored: &str, session: u64) -> bool {
    match stored.split_once(SEPARATOR) {
        None => true,
        Some((_, owner)) => owner.parse::<u64>().is_ok_and(|o| o == session),
    }
}

/// Resolves `name` in a schema as `session` sees it: its own temporary table first, then the permanent
/// one. Returns the stored name and the table.
pub fn lookup<'a>(catalog: &'a Catalog, db: &str, schema: &str, name: &str, session: u64) -> Option<(String, &'a Arc<Table>)> {
    let tables = &catalog.databases.get(db)?.schemas.get(schema)?.tables;
    let temp = stored_name(name, session);
    if let Some(t) = tables.get(&temp) {
        return Some((temp, t));
    }
    tables.get(name).map(|t| (name.to_string(), t))
}

/// Store ops dropping the temporary tables of `session_id` (or of every session when `None`) and, for
/// one session, its temporary stages. A dropped temporary stage's directory is removed by the start-up
/// sweep (`objects::ensure_defaults`).
pub fn drops(catalog: &Catalog, session_id: Option<u64>) -> Vec<Op> {
    let wanted = session_id.map(|id| id.to_string());
    let stages = match session_id {
        Some(id) => stage_drops(catalog, |owner| owner == id),
        None => Vec::new(),
    };
    catalog
        .databases
        .values()
        .flat_map(|d| d.schemas.values())
        .flat_map(|s| s.tables.values())
        .filter(|t| match (t.info.options.get(TEMPORARY_SESSION), &wanted) {
            (Some(owner), Some(w)) => owner == w,
            (Some(_), None) => true,
            _ => false,
        })
        .map(|t| Op::DropTable { id: t.id })
        .chain(stages)
        .collect()
}

/// Store ops dropping the temporary stages of every session not in `live` (at start, once the front door
/// knows which sessions survived the restart; the companion of dropping their temporary tables).
pub fn stage_drops_except(catalog: &Catalog, live: &[u64]) -> Vec<Op> {
    stage_drops(catalog, |owner| !live.contains(&owner))
}

fn stage_drops(catalog: &Catalog, owned_by: impl Fn(u64) -> bool) -> Vec<Op> {
    catalog
        .objects_of(crate::objects::STAGE)
        .filter_map(|(scope, name, body)| {
            let owner = body.get("temporary_session").and_then(|v| v.as_u64())?;
            owned_by(owner).then(|| Op::DeleteObject { kind: crate::objects::STAGE.into(), scope: scope.into(), name: name.into() })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_visibility() {
        let s = stored_name("T", 7);
        assert_eq!(shown(&s), "T");
        assert_eq!(shown("T"), "T");
        assert!(visible_to(&s, 7));
        assert!(!visible_to(&s, 8));
        assert!(visible_to("T", 8));
    }
}
