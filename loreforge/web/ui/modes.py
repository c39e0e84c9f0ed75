"""The page modules of the data modes (issue 15), in the order `install` adds them: the hub and the page of each way
of making data beyond questions and answers from chunks. Kept apart from the list of part 1's pages so that each
list grows on its own."""

from __future__ import annotations

from types import ModuleType

from loreforge.web.ui import (
    pages_cleaning, pages_dialogues, pages_distill, pages_ga, pages_images, pages_modes, pages_pdf, pages_templates,
)

MODE_PAGES: tuple[ModuleType, ...] = (pages_modes, pages_ga, pages_dialogues, pages_distill, pages_cleaning, pages_templates,
                                      pages_images, pages_pdf)
