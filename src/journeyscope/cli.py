"""The `journeyscope` command: thin calls into the library.

Every command turns a `JourneyscopeError` into a clean message on stderr and a non-zero exit,
never a traceback.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from rich.console import Console

from journeyscope.errors import JourneyscopeError
from journeyscope.model.issues import MapError

app = typer.Typer(
    name="journeyscope",
    help="B2B customer journey maps as code, measured against what your accounts actually did.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(code)


# --- commands are added below, one section per area --------------------------------------------


def main() -> None:
    """Entry point: runs the app, turning known errors into messages and exit codes."""
    try:
        app()
    except MapError as exc:
        for issue in exc.issues:
            err.print(str(issue), markup=False)
        sys.exit(2)
    except JourneyscopeError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)


if __name__ == "__main__":
    main()
