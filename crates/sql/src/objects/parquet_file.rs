//! Parquet files of stages, read for COPY INTO <table> and INFER_SCHEMA and written by COPY INTO
//! @stage, through the `parquet` crate's Arrow reader and writer.
//!
//! Snowflake sees a Parquet row as one semi-structured value, `$1`, an object keyed by column name;
//! `rows` gives exactly that, so COPY's `$1:"col"` paths, MATCH_BY_COLUMN_NAME and a load into one
//! VARIANT column work on Parquet as on JSON. Values map as Snowflake maps them: integers and decimals
//! to numbers, floats to numbers (NaN and infinities to null), strings to strings, dates and
//! timestamps to their ISO text, binary to hex, lists to arrays, structs and maps to objects.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use model::SfError;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, GzipLevel, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde_json::{Map, Value as Json};

/// Reads a whole Parquet file: its Arrow schema and its row batches.
pub fn read(bytes: Vec<u8>) -> Result<(SchemaRef, Vec<RecordBatch>), String> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)).map_err(|e| format!("Error parsing the parquet file: {e}"))?;
    let schema = builder.schema().clone();
    let reader = builder.build().map_err(|e| format!("Error parsing the parquet file: {e}"))?;
    let batches = reader.collect::<Result<Vec<_>, _>>().map_err(|e| format!("Error parsing the parquet file: {e}"))?;
    Ok((schema, batches))
}

/// Every row of `batches` as a JSON object keyed by column name (nulls left out, as Snowflake does).
pub fn rows(batches: &[RecordBatch]) -> Vec<Json> {
    let mut out = Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
    for batch in batches {
        let schema = batch.schema();
        for row in 0..batch.num_rows() {
            let mut object = Map::new();
            for (i, field) in schema.fields().iter().enumerate() {
                let value = value_json(batch.column(i), row);
                if !value.is_null() {
                    object.insert(field.name().clone(), value);
                }
            }
            out.push(Json::Object(object));
        }
    }
    out
}

fn number(text: &str) -> Json {
    serde_json::from_str::<serde_json::Number>(text).map(Json::Number).unwrap_or_else(|_| Json::String(text.to_string()))
}

fn display(array: &dyn Array, row: usize) -> String {
    let options = datafusion::arrow::util::display::FormatOptions::default();
    datafusion::arrow::util::display::ArrayFormatter::try_new(array, &options).map(|f| f.value(row).to_string()).unwrap_or_default()
}

/// One Arrow value as Snowflake's semi-structured value.
pub fn value_json(array: &ArrayRef, row: usize) -> Json {
    if array.is_null(row) {
        return Json::Null;
    }
    match array.data_type() {
        DataType::Null => Json::Null,
        DataType::Boolean => Json::Bool(array.as_boolean().value(row)),
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 | DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            number(&display(array.as_ref(), row))
        }
        DataType::Decimal128(..) | DataType::Decimal256(..) => number(&display(array.as_ref(), row)),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            let text = display(array.as_ref(), row);
            text.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Json::Number).unwrap_or(Json::Null)
        }
        DataType::Utf8 => Json::String(array.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => Json::String(array.as_string::<i64>().value(row).to_string()),
        DataType::Utf8View => Json::String(array.as_string_view().value(row).to_string()),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            Json::String(display(array.as_ref(), row).to_uppercase())
        }
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 | DataType::Time32(_) | DataType::Time64(_) => {
            Json::String(display(array.as_ref(), row).replace('T', " "))
        }
        DataType::List(_) => list_json(&array.as_list::<i32>().value(row)),
        DataType::LargeList(_) => list_json(&array.as_list::<i64>().value(row)),
        DataType::FixedSizeList(..) => list_json(&array.as_fixed_size_list().value(row)),
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let mut object = Map::new();
            for (i, field) in fields.iter().enumerate() {
                let value = value_json(s.column(i), row);
                if !value.is_null() {
                    object.insert(field.name().clone(), value);
                }
            }
            Json::Object(object)
        }
        DataType::Map(..) => {
            let entries = array.as_map().value(row);
            let mut object = Map::new();
            for i in 0..entries.len() {
                let key = match value_json(entries.column(0), i) {
                    Json::String(s) => s,
                    other => other.to_string(),
                };
                object.insert(key, value_json(entries.column(1), i));
            }
            Json::Object(object)
        }
        DataType::Dictionary(..) => {
            let text = display(array.as_ref(), row);
            Json::String(text)
        }
        _ => Json::String(display(array.as_ref(), row)),
    }
}

fn list_json(items: &ArrayRef) -> Json {
    Json::Array((0..items.len()).map(|i| value_json(items, i)).collect())
}

/// The Snowflake type INFER_SCHEMA names for a Parquet column of Arrow type `ty`.
pub fn sf_type_name(ty: &DataType) -> String {
    match ty {
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 | DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            "NUMBER(38, 0)".into()
        }
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("NUMBER({}, {})", (*p).min(38), s),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => "REAL".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "TEXT".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => "BINARY".into(),
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Time32(_) | DataType::Time64(_) => "TIME(9)".into(),
        DataType::Timestamp(_, None) => "TIMESTAMP_NTZ".into(),
        DataType::Timestamp(_, Some(_)) => "TIMESTAMP_TZ".into(),
        DataType::Dictionary(_, value) => sf_type_name(value),
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => "ARRAY".into(),
        DataType::Struct(_) | DataType::Map(..) => "OBJECT".into(),
        _ => "VARIANT".into(),
    }
}

/// The Parquet codec for a COMPRESSION option (AUTO and SNAPPY: Snappy, Snowflake's default).
pub fn codec(compression: &str) -> Result<Compression, SfError> {
    Ok(match compression {
        "AUTO" | "SNAPPY" => Compression::SNAPPY,
        "NONE" => Compression::UNCOMPRESSED,
        "GZIP" => Compression::GZIP(GzipLevel::default()),
        "LZ4" => Compression::LZ4_RAW,
        "ZSTD" => Compression::ZSTD(ZstdLevel::default()),
        other => return Err(SfError::invalid_value("COMPRESSION", other)),
    })
}

/// Writes `batches` as one Parquet file.
pub fn write(schema: SchemaRef, batches: &[RecordBatch], compression: Compression) -> Result<Vec<u8>, SfError> {
    let props = WriterProperties::builder().set_compression(compression).build();
    let mut out = Vec::new();
    let fail = |e: parquet::errors::ParquetError| SfError::internal(format!("cannot write Parquet: {e}"));
    let mut writer = ArrowWriter::try_new(&mut out, schema, Some(props)).map_err(fail)?;
    for batch in batches {
        writer.write(batch).map_err(fail)?;
    }
    writer.close().map_err(fail)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use datafusion::arrow::array::{Decimal128Array, Float64Array, Int64Array, ListArray, StringArray, TimestampNanosecondArray};
    use datafusion::arrow::datatypes::{Field, Int32Type, Schema};

    #[test]
    fn round_trip_and_json_rows() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("ID", DataType::Int64, true),
            Field::new("NAME", DataType::Utf8, true),
            Field::new("AMOUNT", DataType::Decimal128(10, 2), true),
            Field::new("RATIO", DataType::Float64, true),
            Field::new("AT", DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Nanosecond, None), true),
            Field::new("TAGS", DataType::List(Arc::new(Field::new("item", DataType::Int32, true))), true),
        ]));
        let tags = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1), Some(2)]), None]);
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![Some(1), Some(2)])),
                Arc::new(StringArray::from(vec![Some("a"), None])),
                Arc::new(Decimal128Array::from(vec![Some(1250), None]).with_precision_and_scale(10, 2).unwrap()),
                Arc::new(Float64Array::from(vec![Some(0.5), Some(f64::NAN)])),
                Arc::new(TimestampNanosecondArray::from(vec![Some(1_700_000_000_000_000_000), None])),
                Arc::new(tags),
            ],
        )
        .unwrap();
        for compression in ["AUTO", "GZIP", "NONE", "ZSTD", "LZ4"] {
            let bytes = write(schema.clone(), std::slice::from_ref(&batch), codec(compression).unwrap()).unwrap();
            let (read_schema, batches) = read(bytes).unwrap();
            assert_eq!(read_schema.fields().len(), 6, "{compression}");
            let rows = rows(&batches);
            assert_eq!(rows[0], serde_json::json!({"ID": 1, "NAME": "a", "AMOUNT": 12.5, "RATIO": 0.5, "AT": "2023-11-14 22:13:20", "TAGS": [1, 2]}), "{compression}");
            assert_eq!(rows[1], serde_json::json!({"ID": 2}), "{compression}");
        }
        let types: Vec<String> = schema.fields().iter().map(|f| sf_type_name(f.data_type())).collect();
        assert_eq!(types, ["NUMBER(38, 0)", "TEXT", "NUMBER(10, 2)", "REAL", "TIMESTAMP_NTZ", "ARRAY"]);
    }

    #[test]
    fn garbage_is_a_parse_error() {
        let err = read(b"not parquet at all".to_vec()).unwrap_err();
        assert!(err.starts_with("Error parsing the parquet file"), "{err}");
        assert!(codec("BROTLI2").is_err());
    }
}
