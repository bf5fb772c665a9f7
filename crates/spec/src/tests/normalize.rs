//! Normalized YAML.
