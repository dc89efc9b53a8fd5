"""The login notice: a pam_motd script printing one line when an app has a problem, and the cron job that
refreshes what it prints (`piserver-wizard status --write-notice`, every five minutes), so that a login
never waits on the network. Shared by every app; `remove` of the last app takes it away."""

from __future__ import annotations

from ..commands import Command
from ..files import PlannedFile
from ..plan import Step
from ..state import state_dir
from ..verbs.notice import refresh_argv, rendered_files
from .context import Context

PACKAGES = ("cron",)  # the refresher's scheduler; it comes in the one apt transaction (system.packages)


def notice(ctx: Context) -> list[Step]:
    """The first refresh runs as soon as the files are written, so the notice is right from this run on."""
    services = ctx.services
    files = [PlannedFile(path, content, mode=mode) for path, (content, mode) in rendered_files().items()]
    return [Step(
        "login-notice", "Show a line at SSH login when an app needs attention (update-motd.d, cron)",
        commands=[services.start("cron")], files=files,
        on_change=[Command.of(*refresh_argv(), ok_codes=(0, 1), timeout=300,
                              env={"PISERVER_WIZARD_STATE_DIR": str(state_dir())})],
        is_done=lambda: services.is_active("cron"))]
