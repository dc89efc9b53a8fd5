"""The steps of the plan, one module per concern, each a function from a ``Context`` to its steps.

A newcomer looking for what the wizard does about nginx opens ``site``; about certbot, ``https``. The plan
(``wizard.plan.build_plan``) only assembles these in order; none of them reads the machine while planning
(what the machine says arrives in ``Context.facts`` and ``Context.app_facts``).
"""

from __future__ import annotations

from . import app, check, https, localca, notice, program, renewal, site, system
from .context import Context

__all__ = ["Context", "app", "check", "https", "localca", "notice", "program", "renewal", "site", "system"]
