//! Encodes a `QueryResult` as the connector's Arrow result (`queryResultFormat: "arrow"`): an Arrow IPC
//! stream, base64 in `rowsetBase64` (or raw in a chunk), whose fields carry the metadata the
//! connector's Arrow iterator reads (`logicalType`, `precision`, `scale`, `charLength`, `byteLength`)
//! in the physical layouts it accepts (snowflake-protocol.md §1.7).

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int32Array, Int64Array, StringArray, StructArray, new_null_array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Field, Fields, Int64Type, Schema, SchemaRef, TimeUnit, TimestampNanosecondType, Time64NanosecondType};
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;
use model::SfError;
use sql::{QueryResult, SfType};

/// The Arrow schema sent for a result schema.
fn wire_field(field: &Field) -> Field {
    let ty = SfType::of_field(field);
    let mut meta: HashMap<String, String> = HashMap::new();
    let logical = ty.wire_name().to_ascii_uppercase();
    meta.insert("logicalType".into(), logical);
    let data_type = match &ty {
        SfType::Number(p, s) => {
            meta.insert("precision".into(), p.to_string());
            meta.insert("scale".into(), s.to_string());
            // As Snowflake: up to 18 digits the unscaled value in an int64 (the connector turns a
            // scaled one into float64 for fetch_arrow_all/fetch_pandas_all and Decimal for rows),
            // decimal128 beyond.
            match field.data_type() {
                DataType::Decimal128(..) if *p > 18 => field.data_type().clone(),
                _ => DataType::Int64,
            }
        }
        SfType::Float => DataType::Float64,
        SfType::Varchar(n) => {
            meta.insert("charLength".into(), n.to_string());
            meta.insert("byteLength".into(), (*n as u64 * 4).min(16_777_216).to_string());
            DataType::Utf8
        }
        SfType::Variant | SfType::Object | SfType::Array => {
            meta.insert("charLength".into(), "16777216".into());
            meta.insert("byteLength".into(), "16777216".into());
            DataType::Utf8
        }
        SfType::Boolean => DataType::Boolean,
        SfType::Date => DataType::Date32,
        SfType::Binary(n) => {
            meta.insert("byteLength".into(), n.to_string());
            meta.insert("charLength".into(), n.to_string());
            DataType::Binary
        }
        SfType::Time(s) | SfType::TimestampNtz(s) | SfType::TimestampLtz(s) => {
            meta.insert("precision".into(), "0".into());
            meta.insert("scale".into(), s.min(&9).to_string());
            DataType::Int64
        }
        SfType::TimestampTz(s) => {
            meta.insert("precision".into(), "0".into());
            meta.insert("scale".into(), s.min(&9).to_string());
            meta.insert("byteLength".into(), "16".into());
            DataType::Struct(tz_fields())
        }
    };
    Field::new(field.name(), data_type, true).with_metadata(meta)
}

fn tz_fields() -> Fields {
    Fields::from(vec![
        Field::new("epoch", DataType::Int64, true),
        Field::new("fraction", DataType::Int32, true),
        Field::new("timezone", DataType::Int32, true),
    ])
}

/// The wire schema of a result.
pub fn wire_schema(schema: &Schema) -> SchemaRef {
    Arc::new(Schema::new(schema.fields().iter().map(|f| wire_field(f)).collect::<Vec<_>>()))
}

/// Nanoseconds of a timestamp or time array, whatever its unit.
fn nanos(array: &dyn Array) -> Result<Vec<Option<i64>>, SfError> {
    let as_ns = cast(array, &match array.data_type() {
        DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Nanosecond, tz.clone()),
        _ => DataType::Time64(TimeUnit::Nanosecond),
    })
    .map_err(|e| SfError::internal(format!("encoding result: {e}")))?;
    Ok(match as_ns.data_type() {
        DataType::Timestamp(..) => as_ns.as_primitive::<TimestampNanosecondType>().iter().collect(),
        _ => as_ns.as_primitive::<Time64NanosecondType>().iter().collect(),
    })
}

fn wire_column(array: &ArrayRef, field: &Field, wire: &Field) -> Result<ArrayRef, SfError> {
    let err = |e: datafusion::arrow::error::ArrowError| SfError::internal(format!("encoding result: {e}"));
    if array.data_type() == &DataType::Null {
        return Ok(new_null_array(wire.data_type(), array.len()));
    }
    let ty = SfType::of_field(field);
    Ok(match ty {
        SfType::Time(s) | SfType::TimestampNtz(s) | SfType::TimestampLtz(s) => {
            let div = 10i64.pow(9 - u32::from(s.min(9)));
            Arc::new(Int64Array::from(nanos(array.as_ref())?.into_iter().map(|v| v.map(|n| n.div_euclid(div))).collect::<Vec<_>>()))
        }
        SfType::TimestampTz(_) => {
            let ns = nanos(array.as_ref())?;
            let epoch = Int64Array::from(ns.iter().map(|v| v.map(|n| n.div_euclid(1_000_000_000))).collect::<Vec<_>>());
            let fraction = Int32Array::from(ns.iter().map(|v| v.map(|n| n.rem_euclid(1_000_000_000) as i32)).collect::<Vec<_>>());
            let timezone = Int32Array::from(ns.iter().map(|v| v.map(|_| 1440)).collect::<Vec<_>>());
            let nulls = array.logical_nulls();
            Arc::new(StructArray::try_new(tz_fields(), vec![Arc::new(epoch), Arc::new(fraction), Arc::new(timezone)], nulls).map_err(err)?)
        }
        SfType::Number(..) if wire.data_type() == &DataType::Int64 && matches!(array.data_type(), DataType::Decimal128(..)) => {
            Arc::new(array.as_primitive::<Decimal128Type>().unary::<_, Int64Type>(|v| v as i64))
        }
        SfType::Variant | SfType::Object | SfType::Array => {
            let text = cast(array, &DataType::Utf8).map_err(err)?;
            Arc::new(text.as_string::<i32>().iter().map(|v| v.map(crate::encode::pretty_json)).collect::<StringArray>())
        }
        _ if array.data_type() == wire.data_type() => array.clone(),
        _ => cast(array, wire.data_type()).map_err(err)?,
    })
}

/// The result as an Arrow IPC stream (every batch of the result, or none when it has no rows).
pub fn ipc_stream(result: &QueryResult, batches: &[RecordBatch]) -> Result<Vec<u8>, SfError> {
    let wire = wire_schema(&result.schema);
    let err = |e: datafusion::arrow::error::ArrowError| SfError::internal(format!("encoding result: {e}"));
    let mut out = Vec::new();
    {
        let mut writer = StreamWriter::try_new(&mut out, &wire).map_err(err)?;
        for batch in batches.iter().filter(|b| b.num_rows() > 0) {
            let columns = batch
                .columns()
                .iter()
                .zip(result.schema.fields())
                .zip(wire.fields())
                .map(|((a, f), w)| wire_column(a, f, w))
                .collect::<Result<Vec<_>, _>>()?;
            writer.write(&RecordBatch::try_new(wire.clone(), columns).map_err(err)?).map_err(err)?;
        }
        writer.finish().map_err(err)?;
    }
    Ok(out)
}

/// `rowsetBase64` for the given batches: empty when there are no rows.
pub fn rowset_base64(result: &QueryResult, batches: &[RecordBatch]) -> Result<String, SfError> {
    if batches.iter().all(|b| b.num_rows() == 0) {
        return Ok(String::new());
    }
    Ok(base64::engine::general_purpose::STANDARD.encode(ipc_stream(result, batches)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Date32Array, Decimal128Array, TimestampNanosecondArray};
    use datafusion::arrow::ipc::reader::StreamReader;

    #[test]
    fn fields_carry_connector_metadata_and_layouts() {
        let schema = Arc::new(Schema::new(vec![
            SfType::Number(38, 0).field("N", true),
            SfType::Number(10, 2).field("D", true),
            SfType::Varchar(10).field("S", true),
            SfType::Date.field("DT", true),
            SfType::TimestampNtz(9).field("TS", true),
            SfType::TimestampTz(9).field("TZ", true),
            SfType::Variant.field("V", true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![Some(7), None])),
                Arc::new(Decimal128Array::from(vec![Some(1250), None]).with_precision_and_scale(10, 2).unwrap()),
                Arc::new(StringArray::from(vec![Some("a"), None])),
                Arc::new(Date32Array::from(vec![Some(1), None])),
                Arc::new(TimestampNanosecondArray::from(vec![Some(1_500_000_000), None])),
                Arc::new(TimestampNanosecondArray::from(vec![Some(-1), None]).with_timezone("+00:00")),
                Arc::new(datafusion::arrow::array::LargeStringArray::from(vec![Some("{\"a\":1}"), None])),
            ],
        )
        .unwrap();
        let result = QueryResult { schema, batches: vec![batch.clone()], statement_type: 0x1000 };
        let bytes = ipc_stream(&result, &result.batches).unwrap();
        let mut reader = StreamReader::try_new(std::io::Cursor::new(bytes), None).unwrap();
        let wire = reader.schema();
        assert_eq!(wire.field(0).metadata()["logicalType"], "FIXED");
        assert_eq!(wire.field(1).metadata()["scale"], "2");
        assert_eq!(wire.field(2).metadata()["charLength"], "10");
        assert_eq!(wire.field(4).metadata()["logicalType"], "TIMESTAMP_NTZ");
        assert_eq!(wire.field(5).metadata()["byteLength"], "16");
        assert_eq!(wire.field(6).metadata()["logicalType"], "VARIANT");
        let got = reader.next().unwrap().unwrap();
        assert_eq!(got.column(4).as_primitive::<datafusion::arrow::datatypes::Int64Type>().value(0), 1_500_000_000);
        // NUMBER(10,2): the unscaled value in an int64, as Snowflake sends up to 18 digits.
        assert_eq!(got.column(1).as_primitive::<datafusion::arrow::datatypes::Int64Type>().value(0), 1250);
        assert!(got.column(1).is_null(1));
        let tz = got.column(5).as_struct();
        assert_eq!(tz.column(0).as_primitive::<datafusion::arrow::datatypes::Int64Type>().value(0), -1);
        assert_eq!(tz.column(1).as_primitive::<datafusion::arrow::datatypes::Int32Type>().value(0), 999_999_999);
        assert!(tz.is_null(1));
        assert_eq!(got.column(6).as_string::<i32>().value(0), "{\n  \"a\": 1\n}");
    }
}
