//! floe-spec: SPCS service specifications (spcs.md §4.2, §6). Parses YAML or JSON text into a
//! validated `Spec`, expands specification templates (`{{ var }}` with `USING (…)`), and prints the
//! normalized YAML that DESCRIBE SERVICE shows and `spec_digest` hashes. Pure: no I/O, no async, no
//! clock, no catalog; every error is a `SpecError` naming the YAML path (`spec.containers[1].image`),
//! so a bad spec is refused before anything is written.
//!
//! Pipeline: `template::render_template` (text → text) → `node::load` (text → YAML tree, the only
//! saphyr user) → `parse` + `container` (tree → `Spec`, shape and per-field checks) →
//! `validate` (whole-spec rules: limits, duplicates, references) → `normalize` (Spec → YAML text).

mod container;
mod image;
mod model;
mod name;
mod node;
mod normalize;
mod parse;
mod quantity;
mod template;
mod validate;

#[cfg(test)]
mod tests;

pub use image::{ImageRef, parse_image};
pub use model::{
    Capabilities, Container, Cors, Endpoint, FAILURE_THRESHOLD, LIVENESS_PERIOD_SECS, LogLevel,
    Probe, Quantities, READINESS_PERIOD_SECS, Resources, SESSION_TOKEN_DIR,
    SESSION_TOKEN_PERMISSION, SecretRef, ServiceRole, SessionTokenConfig, Spec, Value, Volume,
    VolumeMount, VolumeSource,
};
pub use name::{MAX_NAME_LEN, check_object_name, check_role_name, dns_label};
pub use normalize::{normalized_yaml, spec_digest};
pub use quantity::{format_cpu, format_memory, parse_quantity_cpu, parse_quantity_memory};
pub use template::render_template;
pub use validate::{MAX_CONTAINERS, MAX_ENDPOINTS, MAX_SECRETS, MAX_VOLUMES, validate};

/// Why a specification (or template, quantity, service name) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct SpecError {
    /// The YAML path of the offending node (`spec.containers[1].image`); empty when the error is
    /// about the whole text (YAML syntax, templates).
    pub path: String,
    /// What is wrong, naming the offending value.
    pub message: String,
}

impl SpecError {
    pub fn new(path: &str, message: impl Into<String>) -> Self {
        SpecError {
            path: path.to_owned(),
            message: message.into(),
        }
    }

    fn render(&self) -> String {
        if self.path.is_empty() {
            self.message.clone()
        } else {
            format!("{}: {}", self.path, self.message)
        }
    }
}

pub type Result<T, E = SpecError> = std::result::Result<T, E>;

/// Parses a specification, YAML or JSON (as `snow` sends it, with `\u0024` escapes), and validates
/// all of it. Template placeholders must already be expanded (`render_template`).
pub fn parse(text: &str) -> Result<Spec> {
    let root = node::load(text)?;
    let spec = parse::spec(&root)?;
    validate::validate(&spec)?;
    Ok(spec)
}
