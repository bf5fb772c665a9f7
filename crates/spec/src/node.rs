//! The YAML layer: loads specification text (YAML or JSON) with saphyr into floe's own small tree,
//! `Node`, that keeps each scalar's text as written and whether it was quoted, and offers typed
//! accessors whose errors name the YAML path. This is the only file that knows saphyr; the rest of
//! the crate walks `Node`s. It knows nothing about what a specification means.

use std::borrow::Cow;

use saphyr::{Scalar, ScalarStyle, Yaml, YamlLoader};

use crate::SpecError;

/// One YAML node: a scalar, a sequence or a mapping (keys as text, in document order).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Scalar(ScalarNode),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// A scalar as written: its text (unescaped for quoted scalars), whether it was quoted (or a
/// block scalar), and what YAML 1.2's core schema resolves it to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScalarNode {
    pub text: String,
    pub quoted: bool,
    pub kind: ScalarKind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ScalarKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str,
}

/// Parses one YAML (or JSON) document. Syntax errors name the line and column.
pub(crate) fn load(text: &str) -> Result<Node, SpecError> {
    let mut parser = saphyr_parser::Parser::new_from_str(text);
    let mut loader: YamlLoader<'_, Yaml<'_>> = YamlLoader::default();
    loader.early_parse(false);
    let scanned = parser.load(&mut loader, true);
    let scan_error = scanned.err().or_else(|| loader.error().cloned());
    if let Some(scan_error) = scan_error {
        let marker = scan_error.marker();
        return Err(SpecError::new(
            "",
            format!(
                "invalid YAML: {} at line {} column {}",
                scan_error.info(),
                marker.line(),
                marker.col() + 1
            ),
        ));
    }
    let mut documents = loader.into_documents();
    match documents.len() {
        0 => Err(SpecError::new("", "the specification is empty")),
        1 => convert(documents.remove(0), ""),
        n => Err(SpecError::new(
            "",
            format!("expected one YAML document, found {n}"),
        )),
    }
}

fn convert(yaml: Yaml<'_>, path: &str) -> Result<Node, SpecError> {
    match yaml {
        Yaml::Representation(text, style, tag) => {
            let quoted = style != ScalarStyle::Plain;
            let kind = match Scalar::parse_from_cow_and_metadata(text.clone(), style, tag.as_ref())
            {
                Some(Scalar::Null) => ScalarKind::Null,
                Some(Scalar::Boolean(b)) => ScalarKind::Bool(b),
                Some(Scalar::Integer(i)) => ScalarKind::Int(i),
                Some(Scalar::FloatingPoint(f)) => ScalarKind::Float(f.into_inner()),
                Some(Scalar::String(_)) => ScalarKind::Str,
                None => {
                    return Err(SpecError::new(
                        path,
                        format!("'{text}' does not match its tag"),
                    ));
                }
            };
            Ok(Node::Scalar(ScalarNode {
                text: text.into_owned(),
                quoted,
                kind,
            }))
        }
        Yaml::Value(scalar) => Ok(Node::Scalar(from_scalar(scalar))),
        Yaml::Sequence(items) => {
            let mut nodes = Vec::with_capacity(items.len());
            for (idx, item) in items.into_iter().enumerate() {
                nodes.push(convert(item, &format!("{path}[{idx}]"))?);
            }
            Ok(Node::Seq(nodes))
        }
        Yaml::Mapping(mapping) => {
            let mut entries: Vec<(String, Node)> = Vec::with_capacity(mapping.len());
            for (key, value) in mapping {
                let key = match key {
                    Yaml::Representation(text, _, _) => text.into_owned(),
                    Yaml::Value(scalar) => from_scalar(scalar).text,
                    _ => return Err(SpecError::new(path, "mapping keys must be scalars")),
                };
                let child = join(path, &key);
                if entries.iter().any(|(existing, _)| *existing == key) {
                    return Err(SpecError::new(&child, "duplicate key"));
                }
                let value = convert(value, &child)?;
                entries.push((key, value));
            }
            Ok(Node::Map(entries))
        }
        // A user-defined tag does not change what the node holds.
        Yaml::Tagged(_, inner) => convert(*inner, path),
        Yaml::Alias(_) | Yaml::BadValue => Err(SpecError::new(path, "invalid YAML value")),
    }
}

fn from_scalar(scalar: Scalar<'_>) -> ScalarNode {
    let (text, kind) = match scalar {
        Scalar::Null => (Cow::Borrowed("null"), ScalarKind::Null),
        Scalar::Boolean(b) => (Cow::Owned(b.to_string()), ScalarKind::Bool(b)),
        Scalar::Integer(i) => (Cow::Owned(i.to_string()), ScalarKind::Int(i)),
        Scalar::FloatingPoint(f) => (Cow::Owned(f.to_string()), ScalarKind::Float(f.into_inner())),
        Scalar::String(s) => (s, ScalarKind::Str),
    };
    ScalarNode {
        text: text.into_owned(),
        quoted: kind == ScalarKind::Str,
        kind,
    }
}

/// `spec` + `containers` → `spec.containers`; the root's children have no leading dot.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl Node {
    /// What the node is, for "expected X, found Y" messages.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
            Node::Scalar(s) => match s.kind {
                ScalarKind::Null => "null",
                ScalarKind::Bool(_) => "a boolean",
                ScalarKind::Int(_) | ScalarKind::Float(_) => "a number",
                ScalarKind::Str => "a string",
            },
        }
    }

    fn expected(&self, path: &str, what: &str) -> SpecError {
        SpecError::new(path, format!("expected {what}, found {}", self.describe()))
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(
            self,
            Node::Scalar(ScalarNode {
                kind: ScalarKind::Null,
                ..
            })
        )
    }

    /// A string, or any scalar other than null as its text (`8000`, `true`, `1.5`).
    pub(crate) fn as_text(&self, path: &str) -> Result<String, SpecError> {
        match self {
            Node::Scalar(s) if s.kind != ScalarKind::Null => Ok(s.text.clone()),
            other => Err(other.expected(path, "a string")),
        }
    }

    /// A string proper: a quoted scalar or a plain one that is not a number, boolean or null.
    pub(crate) fn as_str(&self, path: &str) -> Result<String, SpecError> {
        match self {
            Node::Scalar(s) if s.kind == ScalarKind::Str => Ok(s.text.clone()),
            other => Err(other.expected(path, "a string")),
        }
    }

    pub(crate) fn as_bool(&self, path: &str) -> Result<bool, SpecError> {
        match self {
            Node::Scalar(ScalarNode {
                kind: ScalarKind::Bool(b),
                ..
            }) => Ok(*b),
            other => Err(other.expected(path, "true or false")),
        }
    }

    /// A whole number, written plainly or as a quoted string of digits.
    pub(crate) fn as_int(&self, path: &str) -> Result<i64, SpecError> {
        match self {
            Node::Scalar(ScalarNode {
                kind: ScalarKind::Int(i),
                ..
            }) => Ok(*i),
            Node::Scalar(s) if s.kind == ScalarKind::Str => {
                s.text.trim().parse::<i64>().map_err(|_| {
                    SpecError::new(path, format!("'{}' is not a whole number", s.text))
                })
            }
            other => Err(other.expected(path, "a whole number")),
        }
    }

    pub(crate) fn as_seq(&self, path: &str) -> Result<&[Node], SpecError> {
        match self {
            Node::Seq(items) => Ok(items),
            other => Err(other.expected(path, "a list")),
        }
    }

    pub(crate) fn as_map(&self, path: &str) -> Result<&[(String, Node)], SpecError> {
        match self {
            Node::Map(entries) => Ok(entries),
            other => Err(other.expected(path, "a mapping")),
        }
    }

    /// A list of strings; numbers and booleans become their text (`args: ["-n", 2]`).
    pub(crate) fn as_text_list(&self, path: &str) -> Result<Vec<String>, SpecError> {
        let items = self.as_seq(path)?;
        let mut out = Vec::with_capacity(items.len());
        for (idx, item) in items.iter().enumerate() {
            out.push(item.as_text(&format!("{path}[{idx}]"))?);
        }
        Ok(out)
    }
}

/// A mapping whose keys were checked against the allowed ones, read field by field.
pub(crate) struct Fields<'a> {
    path: String,
    entries: &'a [(String, Node)],
}

impl<'a> Fields<'a> {
    /// Fails on the first key that is not in `allowed`, naming it and the allowed keys.
    pub(crate) fn new(node: &'a Node, path: &str, allowed: &[&str]) -> Result<Self, SpecError> {
        let entries = node.as_map(path)?;
        for (key, _) in entries {
            if !allowed.contains(&key.as_str()) {
                return Err(SpecError::new(
                    &join(path, key),
                    format!(
                        "unknown field '{key}', expected one of: {}",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(Fields {
            path: path.to_owned(),
            entries,
        })
    }

    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// The path of a field of this mapping.
    pub(crate) fn at(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// A field that is present and not null.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(k, v)| k == key && !v.is_null())
            .map(|(_, v)| v)
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub(crate) fn require(&self, key: &str) -> Result<&'a Node, SpecError> {
        self.get(key)
            .ok_or_else(|| SpecError::new(&self.at(key), "required"))
    }

    pub(crate) fn opt_bool(&self, key: &str) -> Result<Option<bool>, SpecError> {
        self.get(key)
            .map(|node| node.as_bool(&self.at(key)))
            .transpose()
    }
}
