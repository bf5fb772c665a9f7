//! Tests for the aggregates, including partial aggregation across partitions.

use super::harness::*;
use crate::register_all;
use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use std::sync::Arc;

/// A 4-partition table `t(x, g, s)` with x = 0..40, g = x % 3, s = 'v' || x % 5
/// (x divisible by 7 has NULL s).
fn partitioned() -> SessionContext {
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(4));
    register_all(&ctx).unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("x", DataType::Int64, true),
        Field::new("g", DataType::Int64, true),
        Field::new("s", DataType::Utf8, true),
    ]));
    let parts = (0..4)
        .map(|p| {
            let xs: Vec<i64> = (0..40).filter(|x| x % 4 == p).collect();
            let batch = RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(Int64Array::from(xs.clone())),
                    Arc::new(Int64Array::from(xs.iter().map(|x| x % 3).collect::<Vec<_>>())),
                    Arc::new(StringArray::from(
                        xs.iter().map(|x| (x % 7 != 0).then(|| format!("v{}", x % 5))).collect::<Vec<_>>(),
                    )),
                ],
            )
            .unwrap();
            vec![batch]
        })
        .collect();
    let table = MemTable::try_new(schema, parts).unwrap();
    ctx.register_table("t", Arc::new(table)).unwrap();
    ctx
}

#[tokio::test]
async fn array_agg_skips_nulls_and_merges_partitions() {
    let ctx = partitioned();
    let r = rows(&ctx, "select array_size(array_agg(x)), array_size(array_agg(s)) from t").await.unwrap();
    assert_eq!(r, vec![vec!["40", "34"]]);
    let r = rows(&ctx, "select array_agg(x order by x desc) from t where x < 6").await.unwrap();
    assert_eq!(r, vec![vec!["[5,4,3,2,1,0]"]]);
    let r = rows(&ctx, "select g, array_agg(x order by x) from t where x < 9 group by g order by g")
        .await
        .unwrap();
    assert_eq!(r, vec![vec!["0", "[0,3,6]"], vec!["1", "[1,4,7]"], vec!["2", "[2,5,8]"]]);
    let r = rows(&ctx, "select array_agg(distinct s order by s) from t").await.unwrap();
    assert_eq!(r, vec![vec!["[\"v0\",\"v1\",\"v2\",\"v3\",\"v4\"]"]]);
    let r = rows(&ctx, "select array_agg(x) from t where x > 100").await.unwrap();
    assert_eq!(r, vec![vec!["[]"]]);
}

#[tokio::test]
async fn listagg_object_agg_count_if() {
    let ctx = partitioned();
    let r = rows(&ctx, "select listagg(x, ',' order by x) from t where x < 5").await.unwrap();
    assert_eq!(r, vec![vec!["0,1,2,3,4"]]);
    let r = rows(&ctx, "select listagg(distinct s, '|' order by s) from t").await.unwrap();
    assert_eq!(r, vec![vec!["v0|v1|v2|v3|v4"]]);
    let r = rows(&ctx, "select object_agg(s, x) from t where x in (1, 2, 7)").await.unwrap();
    assert_eq!(r, vec![vec!["{\"v1\":1,\"v2\":2}"]]);
    let r = rows(&ctx, "select count_if(x > 29), count_if(s is null) from t").await.unwrap();
    assert_eq!(r, vec![vec!["10", "6"]]);
    let r = rows(&ctx, "select g, count_if(x % 2 = 0) from t group by g order by g").await.unwrap();
    assert_eq!(r, vec![vec!["0", "7"], vec!["1", "6"], vec!["2", "7"]]);
}

#[tokio::test]
async fn bool_aggs() {
    let ctx = partitioned();
    let r = rows(&ctx, "select booland_agg(x >= 0), booland_agg(x > 0), boolor_agg(x > 38), boolor_agg(x > 100) from t")
        .await
        .unwrap();
    assert_eq!(r, vec![vec!["true", "false", "true", "false"]]);
    let r = rows(&ctx, "select booland_agg(x > 0) from t where x > 100").await.unwrap();
    assert_eq!(r, vec![vec!["NULL"]]);
    assert_eq!(one("select boolor_agg(x) from (values (0), (2)) v(x)").await, "true");
}

#[tokio::test]
async fn sliding_window_frames() {
    let c = ctx();
    let q = "select x, array_agg(x) over (order by x rows between 1 preceding and current row), \
             count_if(x > 1) over (order by x rows between 1 preceding and current row), \
             booland_agg(x < 3) over (order by x rows between 1 preceding and current row) \
             from (values (1), (2), (3)) t(x) order by x";
    let r = rows(&c, q).await.unwrap();
    assert_eq!(
        r,
        vec![
            vec!["1", "[1]", "0", "true"],
            vec!["2", "[1,2]", "1", "true"],
            vec!["3", "[2,3]", "2", "false"]
        ]
    );
    let q = "select listagg(x, '-') over (order by x) from (values (1), (2)) t(x) order by 1";
    assert_eq!(rows(&c, q).await.unwrap(), vec![vec!["1"], vec!["1-2"]]);
}
