"""The dataset filter model, built from the one list of its fields (`loreforge.filter_fields.FIELDS`): the
Python API takes it, the REST API reads it from query parameters (GET) or a JSON body (POST), and the CLI's
options are made from the same list."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, create_model

from loreforge.filter_fields import FIELDS


class _Filter(BaseModel):
    def is_empty(self) -> bool:
        return not any(v is not None for v in self.model_dump().values())


def _annotation(f: Any) -> Any:
    return (list[f.type] if f.many else f.type) | None


DatasetFilter: Any = create_model(  # one field per FilterField; every condition is optional
    "DatasetFilter",
    __base__=_Filter,
    __doc__="Which dataset items an action applies to (all given conditions must hold; None: no condition).",
    **{f.name: (_annotation(f), Field(None, description=f.help, **f.bounds)) for f in FIELDS},
)
DatasetFilter.__module__ = __name__
