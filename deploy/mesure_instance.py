"""Memory and response time of ONE app instance of the running local example (deploy/local.sh),
for the sizing section of docs/deploiement.md. Not part of the test run.

Opens Debian's headless Chromium straight on instance 1 (not through nginx, so that every
session lands on the measured instance), then:
  1. one session visits every page (« Tous les contrats »);
  2. `--sessions` sessions open at once, each on another contract, and visit every page
     together (their scripts run concurrently on the instance);
and prints after each step the instance's resident memory (RSS, /proc), the CPU time the
instance spent per page view (/proc: what limits the sessions one instance can serve, whatever
machine the browser runs on) and the time for a page to be ready (median and slowest). The
browser runs on the same machine: with many sessions it competes with the instance for the
processors, so the times are pessimistic.

    deploy/local.sh start && python deploy/mesure_instance.py [--sessions 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cdv_core.ui.nav import PAGES  # noqa: E402 (after the sys.path insert)
from tests.e2e.conftest import CHROMIUM, READY  # noqa: E402

CONTRACTS = ("tous", "CV-DEMO-VERM", "CV-DEMO-MONT", "CV-DEMO-BRE")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def ready(page, title: str) -> None:
    """The page's title is shown, its script has finished and no skeleton is left."""
    page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=120_000)
    page.locator(READY).wait_for(state="attached", timeout=120_000)
    page.get_by_test_id("stSkeleton").first.wait_for(state="detached", timeout=120_000)


def visit_all(pages, base: str, contracts: list[str]) -> list[float]:
    """Every page in every session at once: start all loads, then wait for each. Seconds from
    the request until each page is seen ready (an upper bound when several sessions wait)."""
    times = []
    for spec in PAGES:
        started = time.monotonic()
        for page, contract in zip(pages, contracts):
            page.goto(f"{base}/{spec.url_path}?contrat={contract}", wait_until="commit")
        for page in pages:
            ready(page, spec.title)
            times.append(time.monotonic() - started)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    args = parser.parse_args()
    run = Path(os.environ.get("CDV_DEPLOY_RUN", ROOT / "deploy" / "run"))
    pid = int((run / "instance-1.pid").read_text())
    base = f"http://127.0.0.1:{int((run / 'ports').read_text()) + 1}"

    from playwright.sync_api import sync_playwright

    print(f"Instance 1 (pid {pid}, {base}) au départ : {rss_mb(pid)[0]:.0f} Mo")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:

            def step(label: str, pages, contracts: list[str]) -> None:
                cpu = cpu_seconds(pid)
                times = visit_all(pages, base, contracts)
                per_view = (cpu_seconds(pid) - cpu) / len(times)
                current, peak = rss_mb(pid)
                print(
                    f"{label} : mémoire {current:.0f} Mo (pic {peak:.0f} Mo) ; processeur de l'instance "
                    f"{per_view:.2f} s par écran ; écran prêt en {statistics.median(times):.2f} s (médiane), "
                    f"{max(times):.2f} s au plus"
                )

            first = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
            step(f"1 session, {len(PAGES)} écrans, cache froid", [first], ["tous"])
            step(f"1 session, {len(PAGES)} écrans, cache chaud", [first], ["tous"])
            pages = [
                browser.new_page(viewport={"width": 1400, "height": 1000}, locale="fr-FR") for _ in range(args.sessions)
            ]
            contracts = [CONTRACTS[i % len(CONTRACTS)] for i in range(args.sessions)]
            step(f"{args.sessions} sessions simultanées ({len(set(contracts))} sélections)", pages, contracts)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
