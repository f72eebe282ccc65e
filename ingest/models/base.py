"""Shared pieces of the data model: the strict base model and the entry id type (ids themselves: ids.py)."""

# No `from __future__ import annotations` here: pydantic would parse each annotation string (start-up).
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

EntryId = Annotated[str, Field(description="slug; also the file name under entries/")]


class Model(BaseModel):
    """Base of every model: its validator is built on first use, not at import (start-up cost)."""

    model_config = ConfigDict(defer_build=True)


class Strict(Model):
    """Base for models read from hand-edited files."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
