"""Runs inside a floe job container: the Snowpark operations SPCS jobs use, on a session built from the
service's OAuth token (https at SNOWFLAKE_HOST): session.sql().collect(), session.table().filter()
.collect(), df.write.save_as_table(), session.write_pandas()."""

import json
import os

import pandas as pd
from snowflake.snowpark import Session
from snowflake.snowpark.functions import col


def main() -> None:
    with open("/snowflake/session/token") as f:
        token = f.read()
    s = Session.builder.configs({
        "host": os.environ["SNOWFLAKE_HOST"], "account": os.environ["SNOWFLAKE_ACCOUNT"], "authenticator": "oauth",
        "token": token, "database": os.environ["SNOWFLAKE_DATABASE"], "schema": os.environ["SNOWFLAKE_SCHEMA"],
    }).create()
    out = {"sql": [list(r) for r in s.sql("SELECT CURRENT_USER(), 40 + 2").collect()]}
    adults = s.table("people").filter(col("AGE") >= 18)
    out["filter"] = sorted(r["NAME"] for r in adults.collect())
    adults.select(col("NAME"), col("AGE")).write.save_as_table("adults", mode="overwrite")
    out["saved"] = s.table("adults").count()
    frame = pd.DataFrame({"NAME": ["eve", "dee"], "SCORE": [0.75, 0.5]})
    s.write_pandas(frame, "PANDAS_SCORES", auto_create_table=True)
    out["pandas"] = [list(r) for r in s.table("PANDAS_SCORES").sort(col("NAME")).collect()]
    print(json.dumps(out))
    s.close()


if __name__ == "__main__":
    main()
