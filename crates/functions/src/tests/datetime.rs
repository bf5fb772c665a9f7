//! Tests for DATEADD, DATEDIFF, DATE_TRUNC, DATE_PART and friends.

use super::harness::*;

#[tokio::test]
async fn dateadd_clamps_months() {
    assert_eq!(one("select dateadd('month', 1, '2024-01-31'::date)").await, "2024-02-29");
    assert_eq!(one("select dateadd('MONTHS', 1, '2023-01-31'::date)").await, "2023-02-28");
    assert_eq!(one("select dateadd('year', 1, '2024-02-29'::date)").await, "2025-02-28");
    assert_eq!(one("select dateadd('quarter', -1, '2024-05-31'::date)").await, "2024-02-29");
    assert_eq!(one("select timestampadd('dd', 1, '2024-01-31'::date)").await, "2024-02-01");
    assert_eq!(type_of("select dateadd('day', 1, '2024-01-31'::date)").await, "Date32");
}

#[tokio::test]
async fn dateadd_finer_than_day_gives_timestamp() {
    assert_eq!(one("select dateadd('hour', 1, '2024-01-31'::date)").await, "2024-01-31T01:00:00");
    assert_eq!(type_of("select dateadd('hh', 1, '2024-01-31'::date)").await, "Timestamp(ns)");
    assert_eq!(
        one("select dateadd('minute', 90, '2024-01-01 00:00:00'::timestamp)").await,
        "2024-01-01T01:30:00"
    );
    assert_eq!(
        one("select dateadd('ms', 5, '2024-01-01 00:00:00'::timestamp)").await,
        "2024-01-01T00:00:00.005"
    );
    assert_eq!(one("select dateadd('day', 1, '2024-01-01')").await, "2024-01-02T00:00:00");
    assert_eq!(
        one("select dateadd('day', 1, to_timestamp_ltz('2024-01-01 00:00:00'))").await,
        "2024-01-02T00:00:00Z"
    );
}

#[tokio::test]
async fn datediff_counts_boundaries() {
    assert_eq!(one("select datediff('year', '2020-12-31'::date, '2021-01-01'::date)").await, "1");
    assert_eq!(one("select datediff('year', '2021-01-01'::date, '2020-12-31'::date)").await, "-1");
    assert_eq!(one("select datediff('month', '2024-01-31'::date, '2024-02-01'::date)").await, "1");
    assert_eq!(one("select datediff('quarter', '2024-03-31'::date, '2024-04-01'::date)").await, "1");
    // Weeks start on Monday: Sunday -> Monday crosses one boundary.
    assert_eq!(one("select datediff('week', '2024-03-10'::date, '2024-03-11'::date)").await, "1");
    assert_eq!(
        one("select datediff('day', '2024-03-11 23:59:59'::timestamp, '2024-03-12 00:00:01'::timestamp)")
            .await,
        "1"
    );
    assert_eq!(
        one("select timestampdiff('second', '2024-01-01 00:00:00'::timestamp, '2024-01-01 00:01:00.5'::timestamp)")
            .await,
        "60"
    );
    assert_eq!(
        one("select datediff('hour', '2024-01-01 10:59:59'::timestamp, '2024-01-01 11:00:00'::timestamp)")
            .await,
        "1"
    );
    assert_eq!(
        one("select datediff('ms', '2024-01-01 00:00:00'::timestamp, '2024-01-01 00:00:01.5'::timestamp)")
            .await,
        "1500"
    );
}

#[tokio::test]
async fn date_trunc_keeps_type() {
    assert_eq!(one("select date_trunc('month', '2024-03-15'::date)").await, "2024-03-01");
    assert_eq!(type_of("select date_trunc('month', '2024-03-15'::date)").await, "Date32");
    assert_eq!(one("select date_trunc('week', '2024-03-15'::date)").await, "2024-03-11");
    assert_eq!(one("select date_trunc('quarter', '2024-05-31'::date)").await, "2024-04-01");
    assert_eq!(one("select date_trunc('hour', '2024-05-31'::date)").await, "2024-05-31");
    assert_eq!(
        one("select date_trunc('hour', '2024-03-15 13:45:12'::timestamp)").await,
        "2024-03-15T13:00:00"
    );
}

#[tokio::test]
async fn date_parts() {
    assert_eq!(one("select date_part('year', '2024-03-15'::date)").await, "2024");
    assert_eq!(one("select extract(month from '2024-03-15'::date)").await, "3");
    assert_eq!(one("select extract(dow from '2024-03-17'::date)").await, "0");
    assert_eq!(one("select date_part('dayofweekiso', '2024-03-17'::date)").await, "7");
    assert_eq!(one("select date_part('doy', '2024-12-31'::date)").await, "366");
    assert_eq!(one("select date_part('epoch_second', '2024-01-01 00:00:00'::timestamp)").await, "1704067200");
    assert_eq!(
        one("select date_part('nanosecond', '2024-01-01 00:00:00.123456789'::timestamp)").await,
        "123456789"
    );
    assert_eq!(one("select year('2024-03-15'::date) * 100 + month('2024-03-15'::date)").await, "202403");
    assert_eq!(err_code("select date_part('bogus', '2024-01-01'::date)").await, "100096");
}

#[tokio::test]
async fn calendar_helpers() {
    assert_eq!(one("select last_day('2024-02-10'::date)").await, "2024-02-29");
    assert_eq!(one("select last_day('2024-02-10'::date, 'year')").await, "2024-12-31");
    assert_eq!(one("select dayname('2024-03-15'::date)").await, "Fri");
    assert_eq!(one("select monthname('2024-03-15'::date)").await, "Mar");
    assert_eq!(one("select add_months('2024-02-29'::date, 1)").await, "2024-03-31");
    assert_eq!(one("select date_from_parts(2024, 13, 1)").await, "2025-01-01");
    assert_eq!(one("select timestamp_from_parts(2024, 1, 2, 3, 4, 5)").await, "2024-01-02T03:04:05");
    assert_eq!(one("select time_from_parts(12, 30, 0)").await, "12:30:00");
    assert_eq!(one("select sysdate() is not null and getdate() is not null").await, "true");
    assert_eq!(type_of("select getdate()").await, "Timestamp(ns, \"+00:00\")");
    assert_eq!(type_of("select sysdate()").await, "Timestamp(ns)");
}

#[tokio::test]
async fn extract_planner_uses_snowflake_date_part() {
    use datafusion::execution::SessionStateBuilder;
    use datafusion::prelude::SessionContext;
    let mut builder = SessionStateBuilder::new().with_default_features();
    if let Some(planners) = builder.expr_planners() {
        for (i, p) in crate::expr_planners().into_iter().enumerate() {
            planners.insert(i, p);
        }
    }
    let ctx = SessionContext::new_with_state(builder.build());
    crate::register_all(&ctx).unwrap();
    let r = rows(&ctx, "select extract(dayofweekiso from '2024-03-17'::date), extract(year from '2024-03-17'::date)")
        .await
        .unwrap();
    assert_eq!(r, vec![vec!["7", "2024"]]);
    let df = ctx.sql("select extract(year from '2024-03-17'::date)").await.unwrap();
    assert_eq!(df.schema().field(0).data_type().to_string(), "Int64");
}
