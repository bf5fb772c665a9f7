//! Turns Docker's log frames into lines. With `timestamps=true` every frame starts with an RFC 3339
//! nanosecond timestamp and a space; a frame that does not end in a newline is a partial line (the
//! json-file driver splits lines over 16 KiB), continued by the next frame of the same stream, whose own
//! timestamp is dropped.

use bollard::container::LogOutput;
use driver::{LogLine, Result, Stream};
use futures::stream::{Stream as FutStream, StreamExt};

/// Lines of `frames` stamped at or after `since_ns`.
pub(crate) fn lines(
    frames: impl FutStream<Item = Result<LogOutput>> + Send + 'static,
    since_ns: i64,
) -> impl FutStream<Item = Result<LogLine>> + Send + 'static {
    let mut partial: [Option<(i64, String)>; 2] = [None, None];
    frames
        .map(move |frame| -> Vec<Result<LogLine>> {
            let frame = match frame {
                Ok(f) => f,
                Err(e) => return vec![Err(e)],
            };
            let (stream, bytes) = match frame {
                LogOutput::StdOut { message } => (Stream::Stdout, message),
                LogOutput::StdErr { message } => (Stream::Stderr, message),
                LogOutput::Console { message } => (Stream::Stdout, message),
                LogOutput::StdIn { .. } => return Vec::new(),
            };
            let text = String::from_utf8_lossy(&bytes);
            let slot = &mut partial[if stream == Stream::Stdout { 0 } else { 1 }];
            let mut out = Vec::new();
            // A frame normally holds one line; split defensively in case several arrive together.
            for piece in text.split_inclusive('\n') {
                let (ts_ns, body) = split_timestamp(piece);
                let complete = body.ends_with('\n');
                let body = body.strip_suffix('\n').unwrap_or(body);
                let body = body.strip_suffix('\r').unwrap_or(body);
                let (ts_ns, line) = match slot.take() {
                    Some((first_ts, mut acc)) => {
                        acc.push_str(body);
                        (first_ts, acc)
                    }
                    None => (ts_ns, body.to_string()),
                };
                if complete {
                    if ts_ns >= since_ns {
                        out.push(Ok(LogLine { ts_ns, stream, text: line }));
                    }
                } else {
                    *slot = Some((ts_ns, line));
                }
            }
            out
        })
        .flat_map(futures::stream::iter)
}

/// Splits `2024-10-22T01:12:29.873896187Z text` into (nanoseconds, text); no timestamp gives 0.
fn split_timestamp(piece: &str) -> (i64, &str) {
    if let Some((ts, rest)) = piece.split_once(' ') {
        if let Some(ns) = utc_nanos(ts.as_bytes()) {
            return (ns, rest);
        }
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(ts) {
            return (t.timestamp_nanos_opt().unwrap_or(0), rest);
        }
    }
    (0, piece)
}

/// The form Docker stamps every line with (Go's RFC3339Nano in UTC: trailing zeros of the fraction
/// dropped, `Z`), parsed without a general RFC 3339 parser, since it runs once per captured line.
/// Anything else is `None` (and left to chrono).
fn utc_nanos(ts: &[u8]) -> Option<i64> {
    fn num(b: &[u8]) -> Option<i64> {
        b.iter().try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
    }
    if ts.len() < 20 || ts[4] != b'-' || ts[7] != b'-' || ts[10] != b'T' || ts[13] != b':' || ts[16] != b':' || ts.last() != Some(&b'Z') {
        return None;
    }
    let (y, m, d) = (num(&ts[0..4])?, num(&ts[5..7])?, num(&ts[8..10])?);
    let (hh, mm, ss) = (num(&ts[11..13])?, num(&ts[14..16])?, num(&ts[17..19])?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let frac = &ts[19..ts.len() - 1];
    let nanos = match frac {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => num(digits)? * 10i64.pow(9 - digits.len() as u32),
        _ => return None,
    };
    // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    Some((days * 86_400 + hh * 3_600 + mm * 60 + ss) * 1_000_000_000 + nanos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes_frame as f;

    fn bytes_frame(s: &str) -> Result<LogOutput> {
        Ok(LogOutput::StdOut { message: s.as_bytes().to_vec().into() })
    }

    fn collect(frames: Vec<Result<LogOutput>>, since: i64) -> Vec<(i64, String)> {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            lines(futures::stream::iter(frames), since).map(|l| l.unwrap()).map(|l| (l.ts_ns, l.text)).collect().await
        })
    }

    #[test]
    fn docker_timestamps_parse_as_chrono_parses_them() {
        for ts in [
            "2024-10-22T01:12:29.873896187Z",
            "2024-10-22T01:12:29.8738Z",
            "2024-10-22T01:12:29Z",
            "2024-02-29T23:59:59.999999999Z",
            "2000-03-01T00:00:00.1Z",
            "1970-01-01T00:00:00Z",
            "2100-12-31T12:00:00.000000001Z",
        ] {
            let want = chrono::DateTime::parse_from_rfc3339(ts).unwrap().timestamp_nanos_opt().unwrap();
            assert_eq!(utc_nanos(ts.as_bytes()), Some(want), "{ts}");
        }
        for other in ["2024-10-22T01:12:29+02:00", "2024-10-22 01:12:29Z", "2024-13-22T01:12:29Z", "2024-10-22T01:12:29.Z", "x"] {
            assert_eq!(utc_nanos(other.as_bytes()), None, "{other}");
        }
        assert_eq!(split_timestamp("2024-10-22T01:12:29+02:00 a").0, 1_729_552_349_000_000_000);
    }

    #[test]
    fn joins_partial_frames_and_filters_by_time() {
        let got = collect(
            vec![
                f("2024-10-22T01:12:29.000000001Z first\n"),
                f("2024-10-22T01:12:30.000000000Z long-"),
                f("2024-10-22T01:12:30.000000005Z line\n"),
                f("2024-10-22T01:12:31.000000000Z last\r\n"),
            ],
            1_729_559_550_000_000_000,
        );
        assert_eq!(
            got,
            vec![(1_729_559_550_000_000_000, "long-line".to_string()), (1_729_559_551_000_000_000, "last".to_string())]
        );
    }
}
