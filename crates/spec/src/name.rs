//! Naming rules (spcs.md §6.2, §4.11): container, endpoint and volume names; service role names;
//! and a service's DNS label (`ECHO_SERVICE` → `echo-service`). Rules on strings only.

use crate::SpecError;

/// Longest container, endpoint or volume name, and longest DNS label.
pub const MAX_NAME_LEN: usize = 63;
/// Longest service role name (Snowflake identifiers).
pub const MAX_ROLE_NAME_LEN: usize = 255;

/// Why `name` breaks the rule for container, endpoint and volume names, if it does: at most 63
/// lower-case letters, digits or '-', starting with a letter and ending with a letter or digit.
pub fn check_object_name(name: &str) -> Result<(), String> {
    let rule =
        "must be lowercase alphanumerics or '-', start with a letter and end with an alphanumeric";
    if name.is_empty() {
        return Err(format!("'' is invalid: {rule}"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "'{name}' is invalid: must be at most {MAX_NAME_LEN} characters"
        ));
    }
    let chars_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let starts_ok = name.starts_with(|c: char| c.is_ascii_lowercase());
    let ends_ok = name.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !(chars_ok && starts_ok && ends_ok) {
        return Err(format!("'{name}' is invalid: {rule}"));
    }
    Ok(())
}

/// Why `name` breaks the rule for service role names, if it does: letters, digits or '_', starting
/// with a letter and ending with a letter or digit.
pub fn check_role_name(name: &str) -> Result<(), String> {
    let rule = "must be alphanumerics or '_', start with a letter and end with an alphanumeric";
    if name.len() > MAX_ROLE_NAME_LEN {
        return Err(format!(
            "'{name}' is invalid: must be at most {MAX_ROLE_NAME_LEN} characters"
        ));
    }
    let chars_ok = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let starts_ok = name.starts_with(|c: char| c.is_ascii_alphabetic());
    let ends_ok = name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !(chars_ok && starts_ok && ends_ok) {
        return Err(format!("'{name}' is invalid: {rule}"));
    }
    Ok(())
}

/// A service's DNS label: lower-cased, `_` → `-`; it must then be a valid RFC-1035 label (at most 63
/// characters, letters, digits and '-', starting with a letter, ending with a letter or digit).
pub fn dns_label(service_name: &str) -> Result<String, SpecError> {
    let label: String = service_name
        .chars()
        .map(|c| {
            if c == '_' {
                '-'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let valid = !label.is_empty()
        && label.len() <= MAX_NAME_LEN
        && label
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && label.starts_with(|c: char| c.is_ascii_lowercase())
        && label.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !valid {
        return Err(SpecError::new(
            "",
            format!(
                "service name '{service_name}' does not give a valid DNS name: with '_' as '-' and in \
                 lower case it must be at most {MAX_NAME_LEN} letters, digits or '-', start with a \
                 letter and end with a letter or digit"
            ),
        ));
    }
    Ok(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names() {
        for good in ["echo", "a", "my-container-2", "x1", &"a".repeat(63)] {
            assert_eq!(check_object_name(good), Ok(()), "{good}");
        }
        let err = check_object_name("Echo_1").unwrap_err();
        assert_eq!(
            err,
            "'Echo_1' is invalid: must be lowercase alphanumerics or '-', start with a letter and end with an alphanumeric"
        );
        for bad in ["", "1echo", "echo-", "-echo", "echo_1", "ECHO", "e.cho"] {
            assert!(check_object_name(bad).is_err(), "{bad}");
        }
        assert!(
            check_object_name(&"a".repeat(64))
                .unwrap_err()
                .contains("at most 63")
        );
    }

    #[test]
    fn role_names() {
        for good in ["api_users", "ALL_ENDPOINTS", "r1", "R"] {
            assert_eq!(check_role_name(good), Ok(()), "{good}");
        }
        for bad in ["", "1role", "role_", "my-role", "_r"] {
            assert!(check_role_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dns_labels() {
        assert_eq!(dns_label("ECHO_SERVICE").unwrap(), "echo-service");
        assert_eq!(dns_label("echo_service").unwrap(), "echo-service");
        assert_eq!(dns_label("Svc2").unwrap(), "svc2");
        assert_eq!(dns_label(&"A".repeat(63)).unwrap(), "a".repeat(63));
        for bad in ["", "_SVC", "SVC_", "1SVC", "MY$SVC", "my.svc"] {
            let err = dns_label(bad).unwrap_err();
            assert!(err.to_string().contains(&format!("'{bad}'")), "{err}");
        }
        assert!(dns_label(&"A".repeat(64)).is_err());
    }
}
