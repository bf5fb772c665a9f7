"""The text-analysis job of the seed "Evolving Snowflake Jobs: asynchronous processing", written with
Snowpark the way the blog's job is: it reads (id, text) rows of a source table, scores them, and MERGEs
the results into a shared result table. Runs inside a floe job container; connects back with the
service's OAuth session token.

    python3 text_job.py --task=sentiment|summarization --source_table=T --source_id_column=ID
                        --source_value_column=TEXT --result_table=R
"""

import argparse
import logging
import os
import re
import sys

from snowflake.snowpark import Session
from snowflake.snowpark.functions import col, when_matched, when_not_matched

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(asctime)s [%(levelname)s] %(message)s")
log = logging.getLogger("text_job")


def session() -> Session:
    with open("/snowflake/session/token") as f:
        token = f.read()
    return Session.builder.configs({
        "host": os.environ["SNOWFLAKE_HOST"],
        "account": os.environ["SNOWFLAKE_ACCOUNT"],
        "authenticator": "oauth",
        "token": token,
        "database": os.environ["SNOWFLAKE_DATABASE"],
        "schema": os.environ["SNOWFLAKE_SCHEMA"],
    }).create()


def sentiment(texts: list[str]) -> list[float]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    analyzer = SentimentIntensityAnalyzer()
    return [round(analyzer.polarity_scores(t)["compound"], 4) for t in texts]


def summarize(texts: list[str]) -> list[str]:
    """Extractive: the sentence whose words are most frequent in the review."""
    out = []
    for text in texts:
        sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]
        words = re.findall(r"[a-z']+", text.lower())
        freq = {w: words.count(w) for w in set(words) if len(w) > 3}
        best = max(sentences, key=lambda s: sum(freq.get(w, 0) for w in re.findall(r"[a-z']+", s.lower())), default="")
        out.append(best)
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    for name in ["task", "source_table", "source_id_column", "source_value_column", "result_table"]:
        p.add_argument(f"--{name}", required=True)
    args = p.parse_args()
    s = session()
    rows = s.table(args.source_table).select(col(args.source_id_column), col(args.source_value_column)).collect()
    ids = [r[0] for r in rows]
    texts = [r[1] for r in rows]
    log.info("task %s: %d rows from %s", args.task, len(rows), args.source_table)
    if args.task == "sentiment":
        column, values = "SENTIMENT_SCORE", sentiment(texts)
    elif args.task == "summarization":
        column, values = "SUMMARY", summarize(texts)
    else:
        raise SystemExit(f"unknown task {args.task}")
    source = s.create_dataframe([list(x) for x in zip(ids, values)], schema=[args.source_id_column, column])
    target = s.table(args.result_table)
    result = target.merge(
        source,
        target[args.source_id_column] == source[args.source_id_column],
        [when_matched().update({column: source[column]}),
         when_not_matched().insert({args.source_id_column: source[args.source_id_column], column: source[column]})],
    )
    log.info("task %s: merged into %s: %d inserted, %d updated", args.task, args.result_table, result.rows_inserted, result.rows_updated)
    s.close()


if __name__ == "__main__":
    main()
