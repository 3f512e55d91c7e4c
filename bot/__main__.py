"""`python -m bot` is the same as the `wirebrief` command."""

from bot.cli import main

raise SystemExit(main())
