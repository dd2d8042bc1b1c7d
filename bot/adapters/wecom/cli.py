"""``kefu wecom verify-url``: check a callback URL verification offline.

Admins paste the query parameters from a failed verification (WeCom console or Kefu's log) and
the values from the console; the command prints the decrypted echostr, or why it fails.
"""

from __future__ import annotations

from typing import Annotated

import typer

from bot.adapters.wecom.crypto import CallbackRejected, WeComCrypto
from core.errors import ConfigError

app = typer.Typer(no_args_is_help=True)


@app.callback()
def wecom() -> None:
    """WeCom (企业微信) tools."""


@app.command("verify-url")
def verify_url(
    token: Annotated[str, typer.Option(help="Callback Token from the WeCom console.")],
    aes_key: Annotated[str, typer.Option(help="EncodingAESKey (43 characters).")],
    corp_id: Annotated[str, typer.Option(help="CorpID (企业ID).")],
    msg_signature: Annotated[str, typer.Option(help="msg_signature query parameter.")],
    timestamp: Annotated[str, typer.Option(help="timestamp query parameter.")],
    nonce: Annotated[str, typer.Option(help="nonce query parameter.")],
    echostr: Annotated[str, typer.Option(help="echostr query parameter, URL-decoded.")],
) -> None:
    """Print the decrypted echostr, or a clear reason why verification fails (exit code 1).

    The timestamp's age is not checked: the values usually come from an earlier attempt.
    """
    try:
        crypto = WeComCrypto.create(token, aes_key, corp_id)
        # A "+" pasted from a URL often arrives as a space; base64 never contains spaces.
        plain = crypto.open(msg_signature, timestamp, nonce, echostr.replace(" ", "+"))
    except ConfigError as e:
        typer.echo(f"verification failed: {e}", err=True)
        raise typer.Exit(code=1) from e
    except CallbackRejected as e:
        typer.echo(f"verification failed: {e.reason}", err=True)
        raise typer.Exit(code=1) from e
    typer.echo(plain)
