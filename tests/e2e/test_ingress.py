"""Public endpoints through floe's ingress (spcs.md §11) on the real Docker engine.

The ingress listens on its own port (FLOE_INGRESS_LISTEN); each public endpoint's `ingress_url` is
`<hash>-<account>.localhost:<port>`. Programmatic checks send the host name in the Host header to
127.0.0.1 (Python does not resolve *.localhost); the browser check uses headless Chromium (Debian's
chromium + chromium-driver, selenium from PyPI: scripts/ci-setup.sh), which resolves *.localhost to
loopback itself.

Run when FLOE_TEST_DOCKER=1, like the other container tests.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest
import requests

from test_containers import docker, images, one, spcs, wait_for  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(os.environ.get("FLOE_TEST_DOCKER") != "1",
                                reason="Docker tests run with FLOE_TEST_DOCKER=1")

UI_SPEC = """
spec:
  containers:
  - name: echo
    image: /tutorial_db/data_schema/tutorial_repository/my_ingress_image:latest
    env:
      SERVER_PORT: 8000
      CHARACTER_NAME: Bob
    readinessProbe:
      port: 8000
      path: /healthcheck
  endpoints:
  - name: ui
    port: 8000
    public: true
    corsSettings:
      Access-Control-Allow-Origin: [http://app.example]
      Access-Control-Allow-Methods: [GET, POST]
  - name: private
    port: 8000
serviceRoles:
- name: ui_users
  endpoints: [ui]
"""

BOB_PASSWORD = "Bob-Passw0rd-123"


@pytest.fixture(scope="module", autouse=True)
def ingress_image(images):
    """The test image under a name of this module's own (its `/ui` and `/headers` pages)."""
    docker("tag", "floe-testimg:latest", "tutorial_db/data_schema/tutorial_repository/my_ingress_image:latest")


def start_ui_service(spcs):
    srv, c = spcs()
    cur = c.cursor()
    cur.execute(f"CREATE SERVICE echo_service IN COMPUTE POOL tutorial_compute_pool FROM SPECIFICATION $${UI_SPEC}$$")
    assert one(cur, "SELECT SYSTEM$WAIT_FOR_SERVICES(60, 'echo_service')") == "OK"
    cur.execute("SHOW ENDPOINTS IN SERVICE echo_service")
    cols = [d[0] for d in cur.description]
    rows = {r[cols.index("name")]: dict(zip(cols, r)) for r in cur.fetchall()}
    assert rows["private"]["is_public"] == "false" and rows["private"]["ingress_url"] == ""
    url = rows["ui"]["ingress_url"]
    assert re.fullmatch(rf"[a-z0-9]{{8}}-floe\.localhost:{srv.ingress_port}", url), url
    return srv, c, url


class Ingress:
    """Requests to one endpoint's host name, sent to the ingress's loopback address."""

    def __init__(self, srv, host: str):
        self.base = f"http://127.0.0.1:{srv.ingress_port}"
        self.host = host
        self.session = requests.Session()
        self.session.trust_env = False

    def request(self, method: str, path: str, *, token: str | None = None, cookie: str | None = None,
                headers: dict | None = None, host: str | None = None, **kw) -> requests.Response:
        h = {"Host": host or self.host}
        if token is not None:
            h["Authorization"] = f'Snowflake Token="{token}"'
        if cookie is not None:
            h["Cookie"] = f"sfc-floe-session={cookie}"
        h.update(headers or {})
        return self.session.request(method, self.base + path, headers=h, allow_redirects=False, timeout=60, **kw)

    def login(self, user: str, password: str) -> requests.Response:
        r = self.request("POST", "/sfc-endpoint/login", data={"username": user, "password": password, "next": "/ui"})
        self.session.cookies.clear()  # each request names its credentials itself
        return r


def pat(cur, user: str, role: str | None = None) -> str:
    restriction = f" ROLE_RESTRICTION = '{role}'" if role else ""
    cur.execute(f"ALTER USER {user} ADD PROGRAMMATIC ACCESS TOKEN ingress_tok{restriction}")
    cols = [d[0] for d in cur.description]
    return cur.fetchone()[cols.index("token_secret")]


def test_ingress_with_and_without_credentials(spcs):
    srv, c, url = start_ui_service(spcs)
    cur = c.cursor()
    ing = Ingress(srv, url)

    # Unknown host names are not endpoints.
    r = ing.request("GET", "/ui", host=f"zzzzzzzz-floe.localhost:{srv.ingress_port}", token="x")
    assert (r.status_code, r.text) == (404, "Endpoint does not exist")

    # Without credentials: a program gets 401, a browser the login page.
    r = ing.request("GET", "/headers")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Snowflake"
    r = ing.request("GET", "/ui?x=1", headers={"Accept": "text/html"})
    assert r.status_code == 302 and r.headers["Location"] == "/sfc-endpoint/login?next=%2Fui%3Fx%3D1"
    r = ing.request("GET", "/ui", token="not-a-token", headers={"Accept": "text/html"})
    assert r.status_code == 401
    r = ing.request("TRACE", "/ui", token="x")
    assert r.status_code == 405

    # A programmatic access token of the owner (ADMIN, ACCOUNTADMIN: ALL_ENDPOINTS_USAGE).
    admin_pat = pat(cur, "ADMIN")
    r = ing.request("GET", "/headers", token=admin_pat,
                    headers={"Sf-Context-Current-User": "MALLORY", "X-SF-SPCS-Authorization": "x", "Origin": "http://app.example"})
    assert r.status_code == 200, r.text
    seen = r.json()["headers"]
    assert seen["sf-context-current-user"] == "ADMIN"
    assert "authorization" not in seen and "x-sf-spcs-authorization" not in seen
    # Response headers as spcs.md §11 says.
    assert "Server" not in r.headers and "X-Powered-By" not in r.headers
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert r.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert r.headers["Access-Control-Allow-Origin"] == "http://app.example"
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert r.headers["Access-Control-Allow-Methods"] == "GET, POST"
    r = ing.request("GET", "/headers", token=admin_pat, headers={"Origin": "http://evil.example"})
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers

    # A connector session token works the same way.
    r = ing.request("GET", "/ui", token=c.rest.token)
    assert r.status_code == 200 and "Hello ADMIN, from Bob!" in r.text

    # Another user: signs in with a password, but needs a service role covering the endpoint.
    for stmt in ["CREATE ROLE viewer",
                 f"CREATE USER bob PASSWORD = '{BOB_PASSWORD}' DEFAULT_ROLE = viewer",
                 "GRANT ROLE viewer TO USER bob"]:
        cur.execute(stmt)
    r = ing.login("bob", "wrong")
    assert r.status_code == 401 and "Incorrect username or password" in r.text
    r = ing.login("bob", BOB_PASSWORD)
    assert r.status_code == 303 and r.headers["Location"] == "/ui"
    cookie = r.cookies["sfc-floe-session"]
    r = ing.request("GET", "/ui", cookie=cookie)
    assert r.status_code == 403, r.text
    cur.execute("GRANT SERVICE ROLE echo_service!ui_users TO ROLE viewer")
    r = ing.request("GET", "/ui", cookie=cookie)
    assert r.status_code == 200 and "Hello BOB, from Bob!" in r.text
    cur.execute("SHOW GRANTS TO ROLE viewer")
    cols = [d[0] for d in cur.description]
    granted = [dict(zip(cols, row)) for row in cur.fetchall()]
    assert any(g["name"] == "TUTORIAL_DB.DATA_SCHEMA.ECHO_SERVICE!UI_USERS" and g["privilege"] == "USAGE" for g in granted), granted
    # A cookie-only cross-origin POST is refused; the same origin may post.
    r = ing.request("POST", "/ui", cookie=cookie, headers={"Origin": "http://app.example"}, data={"input": "x"})
    assert r.status_code == 403 and "cookie was present" in r.text
    r = ing.request("POST", "/ui", cookie=cookie, headers={"Origin": f"http://{url}"}, data={"input": "hi"})
    assert r.status_code == 200 and "Bob said hi" in r.text
    cur.execute("REVOKE SERVICE ROLE echo_service!ui_users FROM ROLE viewer")
    assert ing.request("GET", "/ui", cookie=cookie).status_code == 403
    cur.execute("GRANT SERVICE ROLE echo_service!all_endpoints_usage TO ROLE viewer")
    assert ing.request("GET", "/ui", cookie=cookie).status_code == 200
    with pytest.raises(Exception, match="does not exist"):
        cur.execute("GRANT SERVICE ROLE echo_service!no_such_role TO ROLE viewer")

    # Logging out ends the session.
    r = ing.request("GET", "/sfc-endpoint/logout", cookie=cookie)
    assert r.status_code == 302 and "Max-Age=0" in r.headers["Set-Cookie"]
    r = ing.request("GET", "/ui", cookie=cookie, headers={"Accept": "text/html"})
    assert r.status_code == 302 and r.headers["Location"].startswith("/sfc-endpoint/login")


def chromium():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is not installed in .venv: run scripts/ci-setup.sh", pytrace=False)
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or "/usr/lib/chromium/chromedriver"
    if not binary or not os.path.exists(driver):
        pytest.fail("chromium and chromium-driver are not installed: run scripts/ci-setup.sh", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-proxy-server",
                "--window-size=1024,768"]:
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def test_ingress_in_a_browser(spcs):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    srv, c, url = start_ui_service(spcs)
    browser = chromium()
    try:
        wait = WebDriverWait(browser, 30)
        # Not signed in: the ingress sends the browser to its login page.
        browser.get(f"http://{url}/ui")
        wait.until(ec.presence_of_element_located((By.ID, "sign-in")))
        assert browser.title == "Sign in to floe"
        assert "/sfc-endpoint/login?next=%2Fui" in browser.current_url
        assert browser.find_element(By.ID, "endpoint").text == "TUTORIAL_DB.DATA_SCHEMA.ECHO_SERVICE!ui"
        # A wrong password shows an error on the page.
        browser.find_element(By.ID, "username").send_keys("admin")
        browser.find_element(By.ID, "password").send_keys("wrong")
        browser.find_element(By.ID, "sign-in").click()
        assert wait.until(ec.presence_of_element_located((By.ID, "error"))).text == "Incorrect username or password was specified."
        # Signing in sets the session cookie and lands on the proxied page.
        browser.find_element(By.ID, "username").send_keys("admin")
        browser.find_element(By.ID, "password").send_keys(srv.admin_password)
        browser.find_element(By.ID, "sign-in").click()
        greeting = wait.until(ec.presence_of_element_located((By.ID, "greeting")))
        assert greeting.text == "Hello ADMIN, from Bob!"
        assert browser.current_url == f"http://{url}/ui"
        cookies = {ck["name"]: ck for ck in browser.get_cookies()}
        assert cookies["sfc-floe-session"]["httpOnly"] is True
        # The page's form posts through the ingress (same origin, cookie only).
        browser.find_element(By.ID, "input").send_keys("hello")
        browser.find_element(By.ID, "submit").click()
        assert wait.until(ec.presence_of_element_located((By.ID, "output"))).text == "Bob said hello"
        # A page that opens a WebSocket to its own origin: the upgrade goes through the ingress (session
        # cookie, same origin) to the container and the reply comes back.
        browser.get(f"http://{url}/ws-page")
        wait.until(lambda b: b.title in ("ws:done", "ws:error"))
        assert browser.title == "ws:done"
        assert browser.find_element(By.ID, "reply").text == "Bob heard hello over a websocket"
        # Logging out sends the browser back to the login page.
        browser.get(f"http://{url}/sfc-endpoint/logout")
        wait.until(ec.presence_of_element_located((By.ID, "sign-in")))
        browser.get(f"http://{url}/ui")
        wait.until(ec.presence_of_element_located((By.ID, "sign-in")))
        assert "sfc-floe-session" not in {ck["name"] for ck in browser.get_cookies()}
    finally:
        browser.quit()


def ws_handshake(srv, host: str, extra: str) -> tuple[str, "socket.socket"]:
    """A raw WebSocket handshake to the ingress; returns the response head and the socket."""
    import socket
    sock = socket.create_connection(("127.0.0.1", srv.ingress_port), timeout=30)
    sock.sendall((f"GET /ws HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                  f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n").encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    return head.decode(), sock


def ws_text(sock, text: str) -> str:
    """Sends one masked text frame and reads the one text frame answered (short messages)."""
    data = text.encode()
    mask = os.urandom(4)
    sock.sendall(bytes([0x81, 0x80 | len(data)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))
    head = sock.recv(2)
    assert head[0] == 0x81 and head[1] < 126, head
    body = b""
    while len(body) < head[1]:
        body += sock.recv(head[1] - len(body))
    return body.decode()


def test_websockets_through_the_ingress(spcs):
    srv, c, url = start_ui_service(spcs)
    cur = c.cursor()
    token = pat(cur, "admin")
    head, sock = ws_handshake(srv, url, f'Authorization: Snowflake Token="{token}"\r\n')
    with sock:
        assert head.startswith("HTTP/1.1 101"), head
        # The container's own handshake answer, computed from the key (RFC 6455's example).
        assert "sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=" in head.lower(), head
        assert ws_text(sock, "first") == "Bob heard first"
        assert ws_text(sock, "second") == "Bob heard second"
    # No credentials: refused by the ingress, never upgraded.
    head, sock = ws_handshake(srv, url, "")
    sock.close()
    assert head.startswith("HTTP/1.1 401"), head
    wait_for(lambda: "websocket message: second" in one(cur, "SELECT SYSTEM$GET_SERVICE_LOGS('echo_service', 0, 'echo')"),
             what="the container's log of the messages")
