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
    if let Some((ts, rest)) = piece.split_once(' ')
        && let Ok(t) = chrono::DateTime::parse_from_rfc3339(ts)
    {
        return (t.timestamp_nanos_opt().unwrap_or(0), rest);
    }
    (0, piece)
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
