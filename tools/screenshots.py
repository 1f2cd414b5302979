"""Screenshots of the web UI for the README: the dashboard, the orders list and an order page.

Run against a running hub (`orderhub demo` prints the demo admin's e-mail and password):
    python tools/screenshots.py --url http://127.0.0.1:8000 --email E --password P
Writes docs/screenshots/{dashboard,orders,order}.png with Debian's Chromium.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--url", default="http://127.0.0.1:8000")
    args.add_argument("--email", required=True)
    args.add_argument("--password", required=True)
    args.add_argument("--chromium", default="/usr/bin/chromium")
    options = args.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=options.chromium)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.goto(f"{options.url}/login")
        page.get_by_label("E-mail").fill(options.email)
        page.get_by_label("Password").fill(options.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{options.url}/")
        page.screenshot(path=str(OUT / "dashboard.png"))
        page.goto(f"{options.url}/orders?_sort=created_at:desc")
        page.screenshot(path=str(OUT / "orders.png"))
        page.locator("main table a[href^='/orders/']").first.click()
        page.wait_for_load_state()
        page.screenshot(path=str(OUT / "order.png"), full_page=False)
        browser.close()
    print(f"wrote {', '.join(p.name for p in sorted(OUT.glob('*.png')))} to {OUT}")


if __name__ == "__main__":
    main()
