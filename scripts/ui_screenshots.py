"""Screenshots of the sales process UI in headless Chromium (Chrome DevTools Protocol).

Usage: .venv/bin/python scripts/ui_screenshots.py BASE_URL OUTDIR [--width 1440]
       [--login admin --password admin] NAME=PATH[#js-to-run-first] ...

Logs in, opens each PATH (e.g. /odoo/crm) and saves OUTDIR/NAME.png once the
web client is idle. An optional JS expression after '#' runs before the shot
(e.g. to open a dialog); the shot waits for the page to settle after it.
The pages are in the language of the user who logs in (set it on the user).
"""

import argparse
import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket


class Cdp:
    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=60)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        return result.get("result", {}).get("value")

    def wait_for(self, expression, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.evaluate(expression):
                return True
            time.sleep(0.3)
        raise TimeoutError(expression)


def launch_chromium(devtools_port, profile, width=1440, height=900):
    """Headless Chromium on ``about:blank`` at ``width`` x ``height``: ``(process, Cdp of its page)``."""
    chrome = subprocess.Popen(
        [
            shutil.which("chromium") or "/usr/bin/chromium",
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--remote-debugging-port={devtools_port}",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pages = []
    for _attempt in range(100):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{devtools_port}/json") as response:
                pages = [target for target in json.load(response) if target["type"] == "page"]
        except OSError:
            pass
        if pages:
            break
        time.sleep(0.2)
    if not pages:
        chrome.terminate()
        raise RuntimeError(f"Chromium did not open its DevTools port {devtools_port}")
    cdp = Cdp(pages[0]["webSocketDebuggerUrl"])
    cdp.call(
        "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False
    )
    return chrome, cdp


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("outdir")
    parser.add_argument("shots", nargs="+")
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--port", type=int, default=9571)
    args = parser.parse_args()
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="spa_shots_")
    chrome, cdp = launch_chromium(args.port, profile, args.width, args.height)
    try:
        cdp.call("Page.navigate", url=f"{args.base_url}/web/login")
        cdp.wait_for("!!document.querySelector('input[name=login]')")
        cdp.evaluate(
            f"document.querySelector('input[name=login]').value = {json.dumps(args.login)};"
            f"document.querySelector('input[name=password]').value = {json.dumps(args.password)};"
            "document.querySelector('form.oe_login_form').submit(); true"
        )
        cdp.wait_for("location.pathname.startsWith('/odoo')")
        for shot in args.shots:
            name, _sep, rest = shot.partition("=")
            path, _sep, script = rest.partition("#")
            cdp.call("Page.navigate", url=f"{args.base_url}{path}")
            time.sleep(1)
            # Any action: a view, or a client action such as the dashboard or Discuss.
            cdp.wait_for(
                "!!document.querySelector('.o_action_manager .o_action, .o_action_manager .o-mail-Discuss')"
            )
            time.sleep(2.5)
            if script:
                cdp.evaluate(script)
                time.sleep(3)
            data = cdp.call("Page.captureScreenshot", format="png")["data"]
            (outdir / f"{name}.png").write_bytes(base64.b64decode(data))
            print(outdir / f"{name}.png")
    finally:
        chrome.terminate()
        chrome.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
