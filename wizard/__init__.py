"""piserver-wizard's engine: answers, machine facts, the plan, the runner and the progress store.

Nothing in this package imports the Textual UI (``screens``); front ends import the engine, never the
other way round.
"""

__version__ = "0.1.0"
