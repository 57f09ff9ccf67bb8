"""The JSON bodies of the REST API (they make its OpenAPI description)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_ID = 2**31 - 1


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_nul)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
Version = Annotated[int, Field(ge=1, le=MAX_ID)]
Role = Literal["owner", "editor", "viewer"]
Format = Literal["yaml", "json"]
OptionalQuery = Annotated[str | None, Query(max_length=200)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Me(BaseModel):
    id: int
    email: str
    name: str
    is_admin: bool


class UserIn(_In):
    email: Annotated[str, Field(max_length=320), AfterValidator(_no_nul)]
    password: Annotated[str, Field(max_length=1000), AfterValidator(_no_nul)]
    name: Annotated[str, Field(max_length=200), AfterValidator(_no_nul)] = ""
    admin: bool = False


class TokenIn(_In):
    name: Name


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    token: str | None = Field(None, description="The secret; shown only in the answer that "
                              "creates it.")


class WorkspaceIn(_In):
    name: Name


class WorkspaceOut(BaseModel):
    id: int
    name: str
    role: Role
    data_version: int
    created_at: dt.datetime


class MemberOut(BaseModel):
    user_id: int
    email: str
    name: str
    role: Role


class RoleIn(_In):
    role: Role


class InvitationIn(_In):
    role: Role = "editor"
    email: Annotated[str | None, Field(max_length=320), AfterValidator(
        lambda v: _no_nul(v) if v else v)] = None


class InvitationOut(BaseModel):
    id: int
    role: Role
    email: str | None
    expires_at: dt.datetime
    url: str | None = Field(None, description="The invitation link; shown only when created.")


class MapCreate(_In):
    name: Name | None = Field(None, description="The new map's name (with a template).")
    template: Annotated[str, Field(max_length=60)] = "b2b"
    document: dict[str, Any] | None = Field(
        None, description="A whole map document instead of a template (the map file format; "
        "not with `template`).")
    base_map_id: Annotated[int | None, Field(ge=1, le=MAX_ID)] = Field(
        None, description="Make a variant of this map: a copy of its current version under "
        "`name`, or the `document`'s differences from it (not with `template`).")


class MapSummary(BaseModel):
    id: int
    workspace_id: int
    name: str
    version: int
    base_map_id: int | None
    updated_at: dt.datetime


class IssueOut(BaseModel):
    severity: str
    code: str
    message: str
    path: list[Any]


class MapOut(MapSummary):
    can_edit: bool
    document: dict[str, Any] = Field(description="The effective map (a variant merged onto "
                                     "its base), in the map file format.")
    own_document: dict[str, Any] | None = Field(
        description="For a variant, what its version stores: only its differences from the "
        "base map (null for a map that is not a variant: it stores `document`).")
    warnings: list[IssueOut] = []


class MapSave(_In):
    base_version: Version = Field(description="The version the change was made on; a save on "
                                  "an older version answers 409 with the other change.")
    document: dict[str, Any]
    message: Annotated[str, Field(max_length=2000), AfterValidator(_no_nul)] = ""


class MapText(_In):
    text: Annotated[str, Field(max_length=10_000_000), AfterValidator(_no_nul)]
    format: Format = "yaml"
    base_version: Version | None = Field(None, description="Required to save onto an existing "
                                         "map; absent to import as a new map.")
    message: Annotated[str, Field(max_length=2000), AfterValidator(_no_nul)] = ""


class VersionOut(BaseModel):
    version: int
    author: str | None
    created_at: dt.datetime
    summary: str
    message: str


class RestoreIn(_In):
    version: Version
    base_version: Version


class CommentIn(_In):
    body: Annotated[str, Field(min_length=1, max_length=10_000), AfterValidator(_no_nul)]
    touchpoint: Annotated[str | None, Field(max_length=120)] = None


class CommentOut(BaseModel):
    id: int
    touchpoint: str | None
    author: str | None
    body: str
    map_version: int
    created_at: dt.datetime


class ImportOut(BaseModel):
    id: int
    status: Literal["pending", "running", "done", "failed"]
    progress: float
    events: int
    message: str
    sources: dict[str, Any]
    created_at: dt.datetime
    finished_at: dt.datetime | None
