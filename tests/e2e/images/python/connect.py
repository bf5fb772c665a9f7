"""Runs inside a floe container: connects back to floe the way Snowflake's SPCS tutorials do, with only
SNOWFLAKE_HOST, SNOWFLAKE_ACCOUNT, the OAuth session token file and database/schema (so https on port
443 with the connector's own certificate checks), then records who it is in a table."""

import os
import sys

import snowflake.connector


def main() -> None:
    with open("/snowflake/session/token") as f:
        token = f.read()
    conn = snowflake.connector.connect(
        host=os.environ["SNOWFLAKE_HOST"],
        account=os.environ["SNOWFLAKE_ACCOUNT"],
        authenticator="oauth",
        token=token,
        database=os.environ["SNOWFLAKE_DATABASE"],
        schema=os.environ["SNOWFLAKE_SCHEMA"],
        login_timeout=60,
    )
    cur = conn.cursor()
    cur.execute("SELECT CURRENT_USER(), CURRENT_ROLE()")
    user, role = cur.fetchone()
    line = os.environ.get("CONNECTOR_LINE", "?")
    cur.execute("INSERT INTO connector_lines VALUES (%s, %s, %s, %s)", (line, snowflake.connector.__version__, user, role))
    print(f"connected with snowflake-connector-python {snowflake.connector.__version__} as {user} / {role}")
    conn.close()


if __name__ == "__main__":
    sys.exit(main())
