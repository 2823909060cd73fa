"""``python -m ganesha_agents demo``."""

from ganesha_agents.cli import main

main()
