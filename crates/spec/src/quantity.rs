//! Resource quantities (spcs.md §6.3): a number with an optional suffix, `m` (×0.001), `k M G T P E`
//! (×1000ⁿ) or `Ki Mi Gi Ti Pi Ei` (×1024ⁿ). CPU is in cores (`500m` = 0.5, `1`, `0.5`); memory must
//! carry a unit and becomes bytes. Also the reverse, bytes → the shortest exact quantity, used by
//! `normalized_yaml`. Pure text arithmetic: no spec structure here.

const SUFFIXES: &[(&str, f64)] = &[
    ("Ki", 1024.0),
    ("Mi", 1_048_576.0),
    ("Gi", 1_073_741_824.0),
    ("Ti", 1_099_511_627_776.0),
    ("Pi", 1_125_899_906_842_624.0),
    ("Ei", 1_152_921_504_606_846_976.0),
    ("m", 0.001),
    ("k", 1e3),
    ("M", 1e6),
    ("G", 1e9),
    ("T", 1e12),
    ("P", 1e15),
    ("E", 1e18),
];

/// Splits `12.5Gi` into (12.5, Some(1024³)); `None` when the text is not a quantity.
fn split(text: &str) -> Option<(f64, Option<f64>)> {
    let text = text.trim();
    let digits_end = text
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.' || *c == '+' || *c == '-'))
        .map_or(text.len(), |(idx, _)| idx);
    let (number, suffix) = text.split_at(digits_end);
    if number.is_empty() || !number.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    if !value.is_finite() {
        return None;
    }
    if suffix.is_empty() {
        return Some((value, None));
    }
    let factor = SUFFIXES
        .iter()
        .find(|(name, _)| *name == suffix)
        .map(|(_, f)| *f)?;
    Some((value, Some(factor)))
}

/// CPU cores: `500m` → 0.5, `1` → 1.0, `0.5` → 0.5. Negative values are refused.
pub fn parse_quantity_cpu(s: &str) -> Result<f64, String> {
    let invalid = || format!("'{s}' is not a valid cpu quantity (e.g. 0.5, 1 or 500m)");
    let (value, factor) = split(s).ok_or_else(invalid)?;
    let cores = value * factor.unwrap_or(1.0);
    if cores < 0.0 {
        return Err(format!(
            "'{s}' is not a valid cpu quantity: it must not be negative"
        ));
    }
    Ok(cores)
}

/// Memory in bytes: `6Gi`, `512M`, `0.5Gi`, `100k`. A unit is required; `m` is refused. Fractions of
/// a byte are rounded up.
pub fn parse_quantity_memory(s: &str) -> Result<u64, String> {
    let invalid = || {
        format!(
            "'{s}' is not a valid memory quantity: it needs a unit such as M, Mi, G or Gi (e.g. 512Mi)"
        )
    };
    let (value, factor) = split(s).ok_or_else(invalid)?;
    let factor = factor.filter(|f| *f >= 1.0).ok_or_else(invalid)?;
    if value < 0.0 {
        return Err(format!(
            "'{s}' is not a valid memory quantity: it must not be negative"
        ));
    }
    let bytes = (value * factor).ceil();
    if bytes > u64::MAX as f64 {
        return Err(format!(
            "'{s}' is not a valid memory quantity: it is too large"
        ));
    }
    Ok(bytes as u64)
}

/// The shortest exact spelling of a byte count: `6Gi`, `512Mi`, `500M`, `1536`.
pub fn format_memory(bytes: u64) -> String {
    if bytes == 0 {
        return "0".to_owned();
    }
    let units: [(&str, u64); 10] = [
        ("Ei", 1 << 60),
        ("Pi", 1 << 50),
        ("Ti", 1 << 40),
        ("Gi", 1 << 30),
        ("Mi", 1 << 20),
        ("Ki", 1 << 10),
        ("T", 1_000_000_000_000),
        ("G", 1_000_000_000),
        ("M", 1_000_000),
        ("k", 1_000),
    ];
    let mut best = bytes.to_string();
    for (name, factor) in units {
        if bytes.is_multiple_of(factor) {
            let candidate = format!("{}{name}", bytes / factor);
            if candidate.len() < best.len() {
                best = candidate;
            }
        }
    }
    best
}

/// CPU cores as a plain number: `0.5`, `1`, `2.25`.
pub fn format_cpu(cores: f64) -> String {
    let rounded = (cores * 1000.0).round() / 1000.0;
    format!("{rounded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_quantities() {
        assert_eq!(parse_quantity_cpu("500m"), Ok(0.5));
        assert_eq!(parse_quantity_cpu("1"), Ok(1.0));
        assert_eq!(parse_quantity_cpu("0.5"), Ok(0.5));
        assert_eq!(parse_quantity_cpu(" 2 "), Ok(2.0));
        assert_eq!(parse_quantity_cpu("0"), Ok(0.0));
        assert_eq!(parse_quantity_cpu("1k"), Ok(1000.0));
        let err = parse_quantity_cpu("fast").unwrap_err();
        assert!(err.contains("'fast'"), "{err}");
        assert!(parse_quantity_cpu("1x").is_err());
        assert!(parse_quantity_cpu("").is_err());
        assert!(parse_quantity_cpu("-1").unwrap_err().contains("negative"));
        assert!(parse_quantity_cpu("m").is_err());
    }

    #[test]
    fn memory_quantities() {
        assert_eq!(parse_quantity_memory("1Gi"), Ok(1 << 30));
        assert_eq!(parse_quantity_memory("6Gi"), Ok(6 << 30));
        assert_eq!(parse_quantity_memory("0.5Gi"), Ok(1 << 29));
        assert_eq!(parse_quantity_memory("512Mi"), Ok(512 << 20));
        assert_eq!(parse_quantity_memory("2Ki"), Ok(2048));
        assert_eq!(parse_quantity_memory("2G"), Ok(2_000_000_000));
        assert_eq!(parse_quantity_memory("500M"), Ok(500_000_000));
        assert_eq!(parse_quantity_memory("3k"), Ok(3000));
        assert_eq!(parse_quantity_memory("1.5k"), Ok(1500));
        let err = parse_quantity_memory("512").unwrap_err();
        assert!(err.contains("'512'") && err.contains("unit"), "{err}");
        assert!(parse_quantity_memory("500m").is_err());
        assert!(parse_quantity_memory("1GB").is_err());
        assert!(parse_quantity_memory("Gi").is_err());
        assert!(
            parse_quantity_memory("-1Gi")
                .unwrap_err()
                .contains("negative")
        );
    }

    #[test]
    fn formatting() {
        assert_eq!(format_memory(6 << 30), "6Gi");
        assert_eq!(format_memory(512 << 20), "512Mi");
        assert_eq!(format_memory(500_000_000), "500M");
        assert_eq!(format_memory(2_000_000_000), "2G");
        assert_eq!(format_memory(1536), "1536");
        assert_eq!(format_memory(1 << 29), "512Mi");
        assert_eq!(format_memory(0), "0");
        assert_eq!(format_cpu(0.5), "0.5");
        assert_eq!(format_cpu(1.0), "1");
        assert_eq!(format_cpu(2.25), "2.25");
    }
}
