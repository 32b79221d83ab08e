"""CLI commands of the demo stage (registered on `watcher.cli.main`)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from watcher.cli import App, common_options, handle_errors, main, pass_app


@main.command("demo")
@common_options
@click.option(
    "--output",
    "output_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("output/demo"),
    show_default=True,
    help="folder of the demo's database, sources file, bulletin, site and e-mails",
)
@click.option("--serve", is_flag=True, help="only serve the demo web until Ctrl-C (no pipeline)")
@pass_app
@handle_errors
def demo_command(app: App, output_dir: Path, serve: bool) -> None:
    """Run the whole pipeline on the bundled offline demo web (127.0.0.1, no network).

    Each run recreates OUTPUT/watcher.db from scratch; --sources and --db are
    ignored (the demo writes its own).
    """
    from watcher.demo import DemoServer, run_demo, write_demo_sources

    if serve:
        with DemoServer() as base_url:
            path = write_demo_sources(base_url, output_dir / "demo-sources.yaml")
            click.echo(f"Demo web at {base_url}/ ; sources file: {path}. Ctrl-C to stop.")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                click.echo("Stopped.")
        return
    started = time.monotonic()
    result = run_demo(output_dir, settings=app.settings, echo=click.echo, progress=True)
    click.echo("")
    click.echo(
        f"Demo output in {result.output_dir}/ (database {result.db_path}, week {result.week}), "
        f"done in {time.monotonic() - started:.0f} s"
    )
    for note in result.notes:
        click.echo(f"  {note}")
