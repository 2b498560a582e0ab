"""`xiaoer run --shop ID [--platform-url URL]`: one daily run of one shop against a running platform.

The shop, its policy versions, the run, its proposals and the audit trail go to the app database
(`DATABASE_URL`, default SQLite under `XIAOER_HOME`), the run's thread to the checkpointer
(`XIAOER_CHECKPOINTS` or beside the database), the reports to `XIAOER_REPORTS_DIR` (default
`<home>/reports`). The platform token comes from `XIAOER_PLATFORM_TOKEN`, never from the command
line (it would land in the shell history). A second run the same day resumes a run that stopped
halfway and refuses one that finished.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

TOKEN_ENV = "XIAOER_PLATFORM_TOKEN"
console = Console()


def run_command(
    shop: Annotated[str, typer.Option("--shop", help="The shop's id on the platform.")],
    platform_url: Annotated[str | None, typer.Option(
        help="Platform API base URL (default: the shop's stored URL, else XIAOER_PLATFORM_URL).")] = None,
    policy: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="Policy YAML; stored as the shop's next policy version if it differs. "
        "Default: the shop's stored policy, else policies/default.yaml.")] = None,
) -> None:
    """One daily run for one shop: observe, plan, guard, execute what the policy allows, report. 为一个店铺运行一天。"""
    from agent import storage
    from agent.checkpoints import open_checkpointer
    from agent.jobs import Jobs
    from agent.llm import make_chat_model
    from agent.service.platform import ShopPlatforms
    from agent.service.settings import settings_or_exit
    from policies.limits import PolicyError, load_policy

    settings = settings_or_exit()
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = storage.make_engine(settings.database())
    storage.init_db(engine)
    url = platform_url or os.environ.get("XIAOER_PLATFORM_URL")
    token = os.environ.get(TOKEN_ENV)
    try:
        _register(engine, shop, url, token, load_policy(policy) if policy else None)
    except (LookupError, PolicyError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    reports = settings.reports_dir or settings.home / "reports"
    with open_checkpointer(settings.checkpoint_target()) as checkpointer, ShopPlatforms(engine) as platforms:
        jobs = Jobs(engine=engine, checkpointer=checkpointer, platform=platforms, out_dir=reports,
                    llm=make_chat_model())
        try:
            view = jobs.run_daily(shop, actor="cli")
        except storage.RunExists as exc:
            console.print(f"[yellow]{exc}[/yellow]")
            raise typer.Exit(1) from None
    _print(engine, view, reports)


def _register(engine, shop_id: str, url: str | None, token: str | None, policy) -> None:
    """Create the shop on first use (name from the platform), or update its platform settings and policy."""
    import httpx

    import policies
    from agent import storage
    from marketplace.client import PlatformClient, PlatformError
    from policies.limits import load_policy

    with storage.session_scope(engine) as s:
        known = storage.get_shop(s, shop_id)
        url = url or (known.platform_url if known else None)
        token = token or (known.platform_token if known else None)
        if not url or not token:
            raise LookupError(f"--platform-url and {TOKEN_ENV} are needed the first time shop {shop_id!r} runs")
        name = known.name if known else None
    if name is None:
        try:
            with httpx.Client(base_url=url, timeout=30) as http:
                name = PlatformClient(http, shop_id, token).shop().get("name") or shop_id
        except (PlatformError, httpx.HTTPError) as exc:
            raise LookupError(f"--platform-url {url}: cannot read shop {shop_id!r} there ({exc})") from None
    with storage.session_scope(engine) as s:
        storage.save_shop(s, shop_id, name, platform_url=url, platform_token=token)
        current = storage.current_policy(s, shop_id)
        if policy is None and current is None:
            policy = load_policy(Path(policies.__file__).parent / "default.yaml")
        if policy is not None:
            body = policy.model_dump(mode="json", exclude={"version", "changed_by", "changed_at"})
            old = {k: v for k, v in (current.body if current else {}).items()
                   if k not in ("version", "changed_by", "changed_at")}
            if body != old:
                storage.save_policy(s, shop_id, body, f"cli:{os.environ.get('USER', 'owner')}", "xiaoer run --policy")


def _print(engine, view, reports: Path) -> None:
    from agent import storage

    console.print(f"run [bold]{view.run_id}[/bold] · {view.date} · {view.status} · "
                  + ", ".join(f"{k} {n}" for k, n in sorted(view.counts.items())))
    with storage.session_scope(engine) as s:
        pending = [p for p in storage.proposals_for_run(s, view.run_id) if p.id in set(view.pending)]
        if pending:
            table = Table(title="waiting for the owner / 待审批")
            for col in ("id", "kind", "target", "guard / 风控"):
                table.add_column(col)
            for p in pending:
                table.add_row(p.id[:12], p.kind, p.target, (p.decision or {}).get("message", ""))
            console.print(table)
        report = next(iter(storage.list_reports(s, view.shop_id, limit=1)), None)
    if report is not None:
        console.print(f"report 日报: {reports / view.shop_id / report.date}.*.html")
