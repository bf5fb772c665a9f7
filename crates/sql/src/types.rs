//! Snowflake data types: parsing declared types, mapping them to Arrow, and describing result columns
//! the way the connector's `rowtype` wants them.
//!
//! Conventions (shared with floe-functions): integers are Int64 reported as NUMBER(38,0); NUMBER(p,s>0)
//! is Decimal128; VARIANT/OBJECT/ARRAY are LargeUtf8 JSON text; TIMESTAMP_LTZ/TZ carry a "+00:00" zone.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};
use model::SfError;

/// Field metadata key holding the declared Snowflake type of a column.
pub const SF_TYPE_KEY: &str = "sf_type";

/// A Snowflake type, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SfType {
    /// NUMBER(precision, scale).
    Number(u8, i8),
    /// FLOAT / DOUBLE / REAL.
    Float,
    /// VARCHAR(length).
    Varchar(u32),
    /// BOOLEAN.
    Boolean,
    /// DATE.
    Date,
    /// TIME(scale).
    Time(u8),
    /// TIMESTAMP_NTZ(scale).
    TimestampNtz(u8),
    /// TIMESTAMP_LTZ(scale).
    TimestampLtz(u8),
    /// TIMESTAMP_TZ(scale).
    TimestampTz(u8),
    /// BINARY(length).
    Binary(u32),
    /// VARIANT.
    Variant,
    /// OBJECT.
    Object,
    /// ARRAY.
    Array,
}

/// Default VARCHAR length.
pub const MAX_VARCHAR: u32 = 16_777_216;

impl SfType {
    /// Parses a declared type (`NUMBER(10,2)`, `int`, `STRING`, `TIMESTAMP_NTZ(3)`, …).
    pub fn parse(text: &str) -> Result<SfType, SfError> {
        let upper = text.trim().to_ascii_uppercase();
        let (base, args) = match upper.find('(') {
            Some(open) => {
                let close = upper.rfind(')').unwrap_or(upper.len());
                let inner = &upper[open + 1..close.max(open + 1)];
                let args: Vec<i64> = inner.split(',').filter_map(|a| a.trim().parse().ok()).collect();
                (upper[..open].trim().to_string(), args)
            }
            None => (upper.clone(), Vec::new()),
        };
        let base = base.split_whitespace().collect::<Vec<_>>().join(" ");
        let arg = |i: usize, default: i64| args.get(i).copied().unwrap_or(default);
        let ty = match base.as_str() {
            "NUMBER" | "DECIMAL" | "NUMERIC" => {
                let precision = arg(0, 38);
                let scale = arg(1, 0);
                if !(1..=38).contains(&precision) || scale < 0 || scale > precision {
                    return Err(SfError::compilation(format!("Unsupported data type '{text}'.")));
                }
                SfType::Number(precision as u8, scale as i8)
            }
            "INT" | "INTEGER" | "BIGINT" | "SMALLINT" | "TINYINT" | "BYTEINT" => SfType::Number(38, 0),
            "FLOAT" | "FLOAT4" | "FLOAT8" | "DOUBLE" | "DOUBLE PRECISION" | "REAL" => SfType::Float,
            "VARCHAR" | "STRING" | "TEXT" | "NVARCHAR" | "NVARCHAR2" | "CHAR VARYING" | "NCHAR VARYING" => {
                SfType::Varchar(arg(0, MAX_VARCHAR as i64) as u32)
            }
            "CHAR" | "CHARACTER" | "NCHAR" => SfType::Varchar(arg(0, 1) as u32),
            "BOOLEAN" | "BOOL" => SfType::Boolean,
            "DATE" => SfType::Date,
            "TIME" => SfType::Time(arg(0, 9) as u8),
            "TIMESTAMP" | "DATETIME" | "TIMESTAMP_NTZ" | "TIMESTAMPNTZ" | "TIMESTAMP WITHOUT TIME ZONE" => {
                SfType::TimestampNtz(arg(0, 9) as u8)
            }
            "TIMESTAMP_LTZ" | "TIMESTAMPLTZ" | "TIMESTAMP WITH LOCAL TIME ZONE" => SfType::TimestampLtz(arg(0, 9) as u8),
            "TIMESTAMP_TZ" | "TIMESTAMPTZ" | "TIMESTAMP WITH TIME ZONE" => SfType::TimestampTz(arg(0, 9) as u8),
            "BINARY" | "VARBINARY" => SfType::Binary(arg(0, 8_388_608) as u32),
            "VARIANT" => SfType::Variant,
            "OBJECT" => SfType::Object,
            "ARRAY" => SfType::Array,
            _ => return Err(SfError::compilation(format!("Unsupported data type '{text}'."))),
        };
        Ok(ty)
    }

    /// The Arrow type that holds values of this type.
    pub fn arrow(&self) -> DataType {
        match self {
            SfType::Number(p, s) if *s > 0 => DataType::Decimal128(*p, *s),
            SfType::Number(..) => DataType::Int64,
            SfType::Float => DataType::Float64,
            SfType::Varchar(_) => DataType::Utf8,
            SfType::Boolean => DataType::Boolean,
            SfType::Date => DataType::Date32,
            SfType::Time(_) => DataType::Time64(TimeUnit::Nanosecond),
            SfType::TimestampNtz(_) => DataType::Timestamp(TimeUnit::Nanosecond, None),
            SfType::TimestampLtz(_) | SfType::TimestampTz(_) => DataType::Timestamp(TimeUnit::Nanosecond, Some(Arc::from("+00:00"))),
            SfType::Binary(_) => DataType::Binary,
            SfType::Variant | SfType::Object | SfType::Array => DataType::LargeUtf8,
        }
    }

    /// The type Snowflake reports for an Arrow type computed by an expression.
    pub fn from_arrow(data_type: &DataType) -> SfType {
        match data_type {
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => SfType::Number(38, 0),
            DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => SfType::Number(38, 0),
            DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => SfType::Number((*p).min(38), *s),
            DataType::Float16 | DataType::Float32 | DataType::Float64 => SfType::Float,
            DataType::Boolean => SfType::Boolean,
            DataType::Date32 | DataType::Date64 => SfType::Date,
            DataType::Time32(_) | DataType::Time64(_) => SfType::Time(9),
            DataType::Timestamp(_, None) => SfType::TimestampNtz(9),
            DataType::Timestamp(_, Some(_)) => SfType::TimestampLtz(9),
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => SfType::Binary(8_388_608),
            DataType::LargeUtf8 => SfType::Variant,
            DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => SfType::Array,
            DataType::Struct(_) | DataType::Map(..) => SfType::Object,
            _ => SfType::Varchar(MAX_VARCHAR),
        }
    }

    /// The type of a result field: the declared type from metadata when the arrow type still matches it.
    pub fn of_field(field: &Field) -> SfType {
        if let Some(declared) = field.metadata().get(SF_TYPE_KEY) {
            if let Ok(ty) = SfType::parse(declared) {
                if &ty.arrow() == field.data_type() {
                    return ty;
                }
            }
        }
        SfType::from_arrow(field.data_type())
    }

    /// The canonical declared text, as SHOW/DESCRIBE print it.
    pub fn to_sql(&self) -> String {
        match self {
            SfType::Number(p, s) => format!("NUMBER({p},{s})"),
            SfType::Float => "FLOAT".into(),
            SfType::Varchar(n) => format!("VARCHAR({n})"),
            SfType::Boolean => "BOOLEAN".into(),
            SfType::Date => "DATE".into(),
            SfType::Time(s) => format!("TIME({s})"),
            SfType::TimestampNtz(s) => format!("TIMESTAMP_NTZ({s})"),
            SfType::TimestampLtz(s) => format!("TIMESTAMP_LTZ({s})"),
            SfType::TimestampTz(s) => format!("TIMESTAMP_TZ({s})"),
            SfType::Binary(n) => format!("BINARY({n})"),
            SfType::Variant => "VARIANT".into(),
            SfType::Object => "OBJECT".into(),
            SfType::Array => "ARRAY".into(),
        }
    }

    /// The connector's lower-case `type` name.
    pub fn wire_name(&self) -> &'static str {
        match self {
            SfType::Number(..) => "fixed",
            SfType::Float => "real",
            SfType::Varchar(_) => "text",
            SfType::Boolean => "boolean",
            SfType::Date => "date",
            SfType::Time(_) => "time",
            SfType::TimestampNtz(_) => "timestamp_ntz",
            SfType::TimestampLtz(_) => "timestamp_ltz",
            SfType::TimestampTz(_) => "timestamp_tz",
            SfType::Binary(_) => "binary",
            SfType::Variant => "variant",
            SfType::Object => "object",
            SfType::Array => "array",
        }
    }

    /// A field named `name` holding this type, with the declared type in its metadata.
    pub fn field(&self, name: &str, nullable: bool) -> Field {
        Field::new(name, self.arrow(), nullable)
            .with_metadata(HashMap::from([(SF_TYPE_KEY.to_string(), self.to_sql())]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_aliases() {
        assert_eq!(SfType::parse("int").unwrap(), SfType::Number(38, 0));
        assert_eq!(SfType::parse("NUMBER(10, 2)").unwrap().arrow(), DataType::Decimal128(10, 2));
        assert_eq!(SfType::parse("string").unwrap().to_sql(), "VARCHAR(16777216)");
        assert_eq!(SfType::parse("timestamp").unwrap(), SfType::TimestampNtz(9));
        assert!(SfType::parse("WIDGET").unwrap_err().message.contains("WIDGET"));
    }
}
