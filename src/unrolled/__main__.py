"""``python -m unrolled``: the ``unrolled`` command."""

from .cli import main

raise SystemExit(main())
