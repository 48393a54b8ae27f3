"""What a rep waits for in the browser: plain CRM against CRM with the addon.

``bench_rpc.py`` times the requests; this times what the rep sees, in
headless Chromium: from a click (or the drop of a card) until the page stops
changing, that is, until the last request it caused has answered and the web
client has rendered its answer (no request pending and no change of the page
for 400 ms; the time counted ends at the last answer or change, whichever came
last; Odoo's overlays, such as its "Loading" indicator fading out, do not
count). Two servers as ``bench_rpc.py`` starts them (production settings, no
cron worker unless ``--stage-tasks-in-background``; no reverse proxy, so the
web client's live updates are off on both sides), on two databases of their
own (``crm`` with demo data, and ``crm`` + ``sales_process_addon`` with demo
data: a small company's pipeline, a few dozen cards), one browser page per
server logged in as the admin on the pipeline kanban (with the addon, the
process of ``bench_rpc.py``'s opportunities), in interleaved rounds:

- *back to the pipeline*: from an opportunity's form, the breadcrumb back to
  the kanban, which reads its columns again (each side's own cards: the
  number is printed);
- *drag a card*: a new opportunity, its milestones evidenced (made untimed,
  with three stars, so first in the first column), dragged with the mouse to
  the second column;
- *open an opportunity*: a click on that card, now first in the second
  column: its form, with its chatter.

Each round adds its opportunity to both kanbans; they are archived at the
end of the run, so that every run starts on the same kanbans.

    PYTHONPATH=$HOME/.local/src/odoo-19.0 .venv/bin/python benchmarks/bench_browser.py \\
        -c .local/odoo.conf --odoo-bin $HOME/.local/src/odoo-19.0/odoo-bin
"""

import argparse
import base64
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import bench_rpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from ui_screenshots import launch_chromium  # noqa: E402

# Counts the page's pending requests and notes when the last one answered and
# when the page last changed; ``__spa.quiet(t0)`` resolves with the time from
# ``t0`` to the later of the two, once nothing is pending or changing.
INSTRUMENT = """
(() => {
    const state = (window.__spa = { pending: 0, lastNet: 0, lastDom: 0, released: 0 });
    const send = XMLHttpRequest.prototype.send;
    XMLHttpRequest.prototype.send = function (...args) {
        state.pending++;
        this.addEventListener("loadend", () => {
            state.pending--;
            state.lastNet = performance.now();
        });
        return send.apply(this, args);
    };
    const fetch = window.fetch;
    window.fetch = function (...args) {
        state.pending++;
        return fetch.apply(this, args).finally(() => {
            state.pending--;
            state.lastNet = performance.now();
        });
    };
    document.addEventListener("pointerup", () => (state.released = performance.now()), true);
    // Not the overlays (Odoo's "Loading" indicator fading out, notifications): the page itself.
    new MutationObserver((records) => {
        if (records.some((record) => !record.target.closest?.(".o-main-components-container"))) {
            state.lastDom = performance.now();
        }
    }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
    state.quiet = (t0, quietMs = 400, timeout = 30000) =>
        new Promise((resolve, reject) => {
            const check = () => {
                const now = performance.now();
                const last = Math.max(state.lastNet, state.lastDom, t0);
                if (state.pending === 0 && now - last >= quietMs) {
                    resolve(last - t0);
                } else if (now - t0 > timeout) {
                    reject(new Error("the page did not settle"));
                } else {
                    setTimeout(check, 10);
                }
            };
            check();
        });
})();
"""

LABELS = {
    "kanban": "back to the pipeline: the kanban read again and rendered",
    "drag": "drag a card to the next column, until the page settles",
    "form": "open an opportunity: its form and chatter, until the page settles",
}


class Page:
    """One headless Chromium page logged in as the admin on one server's pipeline."""

    def __init__(self, base_url, devtools_port, profile):
        self.base_url = base_url
        self.chrome, self.cdp = launch_chromium(devtools_port, profile)
        self.cdp.call("Page.enable")
        self.cdp.call("Page.addScriptToEvaluateOnNewDocument", source=INSTRUMENT)
        self.cdp.call("Page.navigate", url=f"{base_url}/web/login")
        self.cdp.wait_for("!!document.querySelector('input[name=login]')")
        login, password = "admin", bench_rpc.ADMIN[1]
        self.cdp.evaluate(
            f"document.querySelector('input[name=login]').value = {json.dumps(login)};"
            f"document.querySelector('input[name=password]').value = {json.dumps(password)};"
            "document.querySelector('form.oe_login_form').submit(); true"
        )
        self.cdp.wait_for(
            "location.pathname.startsWith('/odoo')", timeout=300
        )  # a new database builds its assets

    def settle(self):
        return self.cdp.evaluate("window.__spa.quiet(performance.now())")

    def timed_click(self, selector):
        """Click the first element matching ``selector``; the time until the page settles."""
        return self.cdp.evaluate(
            f"""(async () => {{
                const element = document.querySelector({json.dumps(selector)});
                if (!element) throw new Error("nothing matches " + {json.dumps(selector)});
                const t0 = performance.now();
                element.click();
                return window.__spa.quiet(t0);
            }})()"""
        )

    def point(self, selector, down=40):
        """A point of the first element matching ``selector``: centred, ``down`` pixels below its top."""
        return self.cdp.evaluate(
            f"""(() => {{
                const element = document.querySelector({json.dumps(selector)});
                if (!element) return null;
                const rect = element.getBoundingClientRect();
                return {{x: rect.x + rect.width / 2, y: rect.y + Math.min(rect.height / 2, {down})}};
            }})()"""
        )

    def drag(self, source, target):
        """Drag ``source`` into ``target`` (below its top) with the mouse; the time from the
        release until the page settles."""
        start, end = self.point(source), self.point(target, down=150)
        if not start or not end:
            raise RuntimeError(f"cannot drag {source} to {target}: not on the page")
        mouse = self.cdp.call
        mouse("Input.dispatchMouseEvent", type="mousePressed", x=start["x"], y=start["y"], button="left", buttons=1, clickCount=1)  # fmt: skip
        steps = 12
        for step in range(1, steps + 1):
            x = start["x"] + (end["x"] - start["x"]) * step / steps
            y = start["y"] + (end["y"] - start["y"]) * step / steps
            mouse("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y, button="left", buttons=1)
            time.sleep(0.02)
        mouse("Input.dispatchMouseEvent", type="mouseReleased", x=end["x"], y=end["y"], button="left", buttons=0, clickCount=1)  # fmt: skip
        return self.cdp.evaluate("window.__spa.quiet(window.__spa.released)")

    def screenshot(self, path):
        data = self.cdp.call("Page.captureScreenshot", format="png")["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def close(self):
        self.chrome.terminate()
        self.chrome.wait()


class BrowserSide:
    """One server: its RPC side (to make the opportunities) and its browser page."""

    def __init__(self, name, server, with_addon, background, devtools_port, profile, log_dir):
        self.name, self.log_dir = name, log_dir
        self.rpc = bench_rpc.Side(name, server, with_addon, background)
        self.times = {key: [] for key in LABELS}
        self.page = Page(f"http://127.0.0.1:{server.port}", devtools_port, profile)
        stage_names = {
            row["id"]: row["display_name"]
            for row in server.kw("crm.stage", "read", [[self.rpc.first, self.rpc.second], ["display_name"]])
        }
        self.first_name, self.second_name = stage_names[self.rpc.first], stage_names[self.rpc.second]
        self.page.cdp.call("Page.navigate", url=f"{self.page.base_url}/odoo/crm")
        self.page.cdp.wait_for("!!document.querySelector('.o_kanban_renderer .o_kanban_group')", timeout=300)
        self.page.settle()
        if with_addon:
            # The pipeline of bench_rpc.py's opportunities: their process, picked in the search panel.
            ptype = server.kw("crm.pipeline.type", "read", [[self.rpc.extra["pipeline_type_id"]], ["name"]])
            self.page.cdp.evaluate(
                f"""(async () => {{
                    const name = {json.dumps(ptype[0]["name"])};
                    const value = [...document.querySelectorAll(".o_search_panel_category_value header")]
                        .find((header) => header.textContent.trim() === name);
                    value.click();
                    return window.__spa.quiet(performance.now());
                }})()"""
            )
        self.check_columns()

    def check_columns(self):
        headers = self.page.cdp.evaluate(
            "[...document.querySelectorAll('.o_kanban_group .o_column_title')].slice(0, 2)"
            ".map((title) => title.textContent.trim())"
        )
        if headers != [self.first_name, self.second_name]:
            self.fail(f"the first columns are {headers}, not {[self.first_name, self.second_name]}")

    def fail(self, message):
        path = Path(self.log_dir) / f"bench-browser-{self.name}.png"
        self.page.screenshot(path)
        error = self.page.cdp.evaluate(
            """(() => {
                const dialog = document.querySelector(".o_error_dialog");
                dialog?.querySelector("button.btn-link, .o_error_detail_button, a")?.click();
                return dialog?.innerText || "";
            })()"""
        )
        time.sleep(0.5)
        error = self.page.cdp.evaluate("document.querySelector('.o_error_dialog')?.innerText || ''") or error
        raise RuntimeError(f"{self.name}: {message} (screenshot: {path}){chr(10) + error if error else ''}")

    def archive_leads(self):
        """Archive the opportunities of the run (the addon keeps those that passed its gate, for
        the audit trail): the next run starts on the same kanban."""
        kw = self.rpc.server.kw
        leads = kw(
            "crm.lead", "search", [["|", ("name", "=like", "Bench %"), ("name", "=like", "Browser bench %")]]
        )
        kw("crm.lead", "write", [leads, {"active": False}])

    def round(self):
        rpc = self.rpc
        lead = rpc.make_leads(1)[0]
        rpc.server.kw("crm.lead", "write", [[lead], {"priority": "3", "name": f"Browser bench {lead}"}])
        rpc.settle()
        if self.page.cdp.evaluate("!!document.querySelector('.o_form_view')"):
            self.times["kanban"].append(self.page.timed_click(".o_breadcrumb .breadcrumb-item a"))
        else:  # the first round starts on the kanban: open a card and come back (untimed) to show the new one
            self.page.timed_click(".o_kanban_record:not(.o_kanban_ghost)")
            self.page.timed_click(".o_breadcrumb .breadcrumb-item a")
        self.check_columns()
        first_card = ".o_kanban_group:nth-child(1) .o_kanban_record:not(.o_kanban_ghost)"
        name = self.page.cdp.evaluate(f"document.querySelector({json.dumps(first_card)})?.textContent || ''")
        if f"Browser bench {lead}" not in name:
            self.fail(f"the new opportunity {lead} is not the first card of the first column")
        self.times["drag"].append(self.page.drag(first_card, ".o_kanban_group:nth-child(2)"))
        stage = rpc.server.kw("crm.lead", "read", [[lead], ["stage_id"]])[0]["stage_id"]
        if not stage or stage[0] != rpc.second:
            self.fail(f"the drag left opportunity {lead} in {stage}")
        rpc.settle()
        second_card = ".o_kanban_group:nth-child(2) .o_kanban_record:not(.o_kanban_ghost)"
        self.times["form"].append(self.page.timed_click(second_card))
        if not self.page.cdp.evaluate("!!document.querySelector('.o_form_view')"):
            self.fail("the click on the card opened no form")
        rpc.settle()


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-c", "--config", required=True, help="the project's odoo.conf")
    parser.add_argument("--odoo-bin", required=True)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--plain-db", default="spa_bench_browser_plain")
    parser.add_argument("--addon-db", default="spa_bench_browser_addon")
    parser.add_argument(
        "--port", type=int, default=8691, help="plain CRM's port; the addon's is the next one"
    )
    parser.add_argument("--devtools-port", type=int, default=9591)
    parser.add_argument("--log-dir", default=str(Path(tempfile.gettempdir()) / "spa-bench-browser"))
    parser.add_argument("--stage-tasks-in-background", action="store_true", help="as bench_rpc.py's")
    args = parser.parse_args()
    background = args.stage_tasks_in_background

    bench_rpc.ensure_database(args.plain_db, "crm", args.odoo_bin, args.config)
    bench_rpc.ensure_database(args.addon_db, "crm,sales_process_addon", args.odoo_bin, args.config)
    os.makedirs(args.log_dir, exist_ok=True)
    profiles = [tempfile.mkdtemp(prefix="spa_bench_browser_") for _side in range(2)]
    servers, sides, put_off = [], [], None
    try:
        put_off = bench_rpc.start_servers(args, background, servers)
        for number, (name, server) in enumerate(zip(("plain", "addon"), servers, strict=True)):
            sides.append(
                BrowserSide(
                    name, server, name == "addon", background and name == "addon",
                    args.devtools_port + number, profiles[number], args.log_dir,
                )
            )  # fmt: skip
        for side in sides:  # warm up: the browser's cache, the servers' registries and caches
            side.round()
            side.round()
            side.times = {key: [] for key in LABELS}
        for number in range(args.rounds):
            for side in sides if number % 2 == 0 else reversed(sides):
                side.round()
            print(f"round {number + 1}/{args.rounds} done", flush=True)
        for side in sides:  # end on the kanban, to count its cards
            side.page.timed_click(".o_breadcrumb .breadcrumb-item a")
        cards = [
            side.page.cdp.evaluate(
                "document.querySelectorAll('.o_kanban_record:not(.o_kanban_ghost)').length"
            )
            for side in sides
        ]
        for side in sides:
            side.archive_leads()
    finally:
        if put_off is not None:
            bench_rpc.restore_after_background(servers[1], put_off)
        for side in sides:
            side.page.close()
        for server in servers:
            server.stop()
        for profile in profiles:
            shutil.rmtree(profile, ignore_errors=True)

    plain, addon = ({key: statistics.median(values) for key, values in side.times.items()} for side in sides)
    print(
        f"\nHeadless Chromium as the admin, 2 workers per server, median of {args.rounds} interleaved rounds"
    )
    if background:
        print("The addon with its stage tasks in the background (1 cron worker)")
    print(f"Cards on the kanban at the end: plain {cards[0]}, addon {cards[1]}")
    print("| what the rep waits for | plain | with addon | ratio |\n|---|---|---|---|")
    for key, label in LABELS.items():
        print(f"| {label} | {plain[key]:.0f} ms | {addon[key]:.0f} ms | {addon[key] / plain[key]:.2f}x |")


if __name__ == "__main__":
    main()
