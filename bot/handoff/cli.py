"""``kefu agents ...``: create, list and disable human agents.

Passwords are read from a hidden prompt unless given, and are never printed or logged; a token
is generated, printed once and stored only as its hash.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from bot.handoff.agents import AgentDirectory
from bot.handoff.credentials import new_token
from core.errors import KefuError
from core.settings import KefuSettings
from core.storage import Database

T = TypeVar("T")

agents_app = typer.Typer(help="Human agents of the workspace (/agent).", no_args_is_help=True)


def _run(action: Callable[[AgentDirectory], Awaitable[T]]) -> T:
    """Run one action against the configured database (migrated first)."""

    async def run() -> T:
        settings = KefuSettings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        database = Database(settings.database_url)
        try:
            await database.upgrade()
            return await action(AgentDirectory(database))
        finally:
            await database.dispose()

    try:
        return asyncio.run(run())
    except KefuError as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(code=1) from error


@agents_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Login name of the agent.")],
    password: Annotated[
        str | None,
        typer.Option(help="Password (prompted, hidden, when neither this nor --token is given)."),
    ] = None,
    token: Annotated[
        bool, typer.Option("--token", help="Generate a login token and print it once.")
    ] = False,
) -> None:
    """Create an agent who logs in with a password or a generated token."""
    if password is None and not token:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    secret = new_token() if token else None
    agent = _run(lambda agents: agents.add(name, password=password, token=secret))
    typer.echo(f"Agent {agent.name!r} added.")
    if secret is not None:
        typer.echo("Login token (shown only now, keep it safe):")
        typer.echo(secret)


@agents_app.command("list")
def list_agents() -> None:
    """Every agent, whether active, and when last seen."""
    agents = _run(lambda directory: directory.all())
    if not agents:
        typer.echo("No agents yet: add one with `kefu agents add NAME`.")
    for agent in agents:
        login = "+".join(
            kind
            for kind, has in (("password", agent.has_password), ("token", agent.has_token))
            if has
        )
        seen = agent.last_seen.isoformat(timespec="seconds") if agent.last_seen else "never"
        status = "active" if agent.active else "disabled"
        typer.echo(f"{agent.name}\t{status}\t{login}\tlast seen {seen}")


@agents_app.command("password")
def password(
    name: Annotated[str, typer.Argument(help="Login name of the agent.")],
    new: Annotated[
        str | None, typer.Option("--password", help="New password (prompted, hidden, if omitted).")
    ] = None,
) -> None:
    """Set a new password; every session of the agent ends at once, on every worker."""
    secret = new or typer.prompt("New password", hide_input=True, confirmation_prompt=True)

    async def change(agents: AgentDirectory) -> int | None:
        agent = next((a for a in await agents.all() if a.name == name.strip()), None)
        return None if agent is None else await agents.set_password(agent.id, secret)

    ended = _run(change)
    if ended is None:
        typer.echo(f"Error: no agent named {name!r}", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"Password of {name!r} changed; {ended} session(s) ended.")


@agents_app.command("disable")
def disable(name: Annotated[str, typer.Argument(help="Login name of the agent.")]) -> None:
    """Disable an agent: their sessions end at once; their history stays."""
    _set_active(name, active=False)


@agents_app.command("enable")
def enable(name: Annotated[str, typer.Argument(help="Login name of the agent.")]) -> None:
    """Enable a disabled agent again."""
    _set_active(name, active=True)


def _set_active(name: str, *, active: bool) -> None:
    if not _run(lambda agents: agents.set_active(name, active)):
        typer.echo(f"Error: no agent named {name!r}", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"Agent {name!r} {'enabled' if active else 'disabled'}.")
