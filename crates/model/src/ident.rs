//! Snowflake identifiers: unquoted names are upper-cased, quoted ones keep their case.

use std::fmt;

/// A possibly qualified object name `[db.][schema.]name`, parts already resolved to their stored case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectName {
    /// Database part, if given.
    pub database: Option<String>,
    /// Schema part, if given.
    pub schema: Option<String>,
    /// The object's own name.
    pub name: String,
}

impl ObjectName {
    /// Builds a name from 1 to 3 parts (`name`, `schema.name`, `db.schema.name`).
    pub fn from_parts(parts: &[String]) -> Option<Self> {
        match parts {
            [name] => Some(ObjectName { database: None, schema: None, name: name.clone() }),
            [schema, name] => Some(ObjectName { database: None, schema: Some(schema.clone()), name: name.clone() }),
            [db, schema, name] => {
                Some(ObjectName { database: Some(db.clone()), schema: Some(schema.clone()), name: name.clone() })
            }
            _ => None,
        }
    }
}

impl fmt::Display for ObjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(db) = &self.database {
            write!(f, "{}.", display_ident(db))?;
        }
        if let Some(schema) = &self.schema {
            write!(f, "{}.", display_ident(schema))?;
        }
        write!(f, "{}", display_ident(&self.name))
    }
}

/// Renders a stored identifier as Snowflake shows it in messages: bare when it would parse back to
/// itself unquoted (upper case letters, digits, `_`, `$`), else double-quoted.
pub fn display_ident(name: &str) -> String {
    let plain = !name.is_empty()
        && name.chars().next().is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain { name.to_string() } else { format!("\"{}\"", name.replace('"', "\"\"")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(display_ident("FOO_1"), "FOO_1");
        assert_eq!(display_ident("Foo"), "\"Foo\"");
        let name = ObjectName::from_parts(&["DB".into(), "my schema".into(), "T".into()]).unwrap();
        assert_eq!(name.to_string(), "DB.\"my schema\".T");
    }
}
