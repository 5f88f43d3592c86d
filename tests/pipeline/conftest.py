from __future__ import annotations

# Throwaway PGP keys, shared with the unpack tests.
from tests.unpack.conftest import keys  # noqa: F401
