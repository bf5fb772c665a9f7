//! Scratch exploration (temporary).

use super::harness::*;

#[tokio::test]
async fn scratch() {
    let qs = std::fs::read_to_string("/tmp/q.sql").unwrap();
    let c = ctx();
    for q in qs.lines().filter(|l| !l.trim().is_empty()) {
        match rows(&c, q).await {
            Ok(r) => println!("{q}\n   => {r:?}"),
            Err(e) => println!("{q}\n   !! {e}"),
        }
    }
}
