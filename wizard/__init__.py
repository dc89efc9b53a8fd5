"""piserver-wizard's engine: answers, machine facts, the plan, the runner and the progress store.

Nothing in this package imports the Textual UI (``screens``); front ends import the engine, never the
other way round.
"""

__version__ = "0.1.0"

# Exit status, the same for every front end: done, a step failed (a re-run resumes), bad answers or usage.
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
