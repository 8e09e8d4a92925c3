"""The two outcomes of checking a bag that are not an accepted bag: refused or still incomplete."""

from __future__ import annotations

from collections.abc import Iterable


class BagRefused(Exception):
    """The bag is hostile or malformed; ``reasons`` are human-readable, each naming a path or rule."""

    def __init__(self, reasons: Iterable[str]) -> None:
        self.reasons: list[str] = list(reasons) or ["bag refused"]
        shown = "; ".join(self.reasons[:3])
        more = len(self.reasons) - 3
        super().__init__(shown + (f" (+{more} more)" if more > 0 else ""))


class BagIncomplete(Exception):
    """A folder bag is not fully uploaded yet: ``missing`` lists the absent paths (retry later)."""

    def __init__(self, missing: Iterable[str]) -> None:
        self.missing: list[str] = list(missing)
        shown = ", ".join(self.missing[:5])
        more = len(self.missing) - 5
        super().__init__(f"bag incomplete, missing: {shown}" + (f" (+{more} more)" if more > 0 else ""))
