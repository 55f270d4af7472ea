"""Feed mappings: one YAML file per landing folder says which header means which column.

A site whose headers differ edits the YAML (add a header synonym, relax `required`),
not the code. See mappings/README.md for the format. The landing folders are the mapping
files (FOLDERS); ingest.feeds.dbt_codegen writes their dbt sources and staging models.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from core.yaml_file import YAMLError, read_yaml
from ingest.feeds.normalize import header_key

MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"

TYPES = {
    # mapping type -> PostgreSQL type of the raw column
    "text": "text",
    "code": "text",
    "id_number": "text",
    "date": "date",
    "money_yuan": "numeric",
    "money_wan": "numeric",
    "integer": "integer",
    "numeric": "numeric",
    "enum": "text",
    "bool_shi_fou": "boolean",
}

CADENCES = ("daily", "weekly", "on_change")   # expected delivery rhythm (FRESH-02, feed completeness)

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_RESERVED = {"load_batch_id", "file_date", "line_no", "extra"}


@dataclass(frozen=True)
class Column:
    name: str
    headers: tuple[str, ...]          # first one is the contract text, used in comments/messages
    type: str
    required: bool = False            # the header must be present, or the file is refused
    nullable: bool = True             # an empty value is allowed (else the row is rejected)
    values: tuple[str, ...] = ()      # enum: allowed values
    aliases: dict = field(default_factory=dict)   # enum: variant spelling -> allowed value
    pattern: str | None = None        # code: regular expression the value must match
    pattern_hint: str | None = None   # code: what the pattern means, for the reject reason
    upper: bool = False               # code: upper-case it (credit codes: x -> X)
    units: tuple[str, ...] = ()       # integer/numeric: unit suffixes to strip (户, 人, 年)
    id_number_column: str | None = None  # id_number kept whole here; first 18 chars go there
    comment: str | None = None
    identifying: bool = False         # unreadable -> the row is rejected (else nulled + warned)

    @functools.cached_property
    def label(self) -> str:
        """Header text without its value list, for messages: 救助类型(…) -> 救助类型."""
        return re.sub(r"[(（][^()（）]*/[^()（）]*[)）]$", "", self.headers[0])

    @property
    def sql_type(self) -> str:
        return TYPES[self.type]


@dataclass(frozen=True)
class Mapping:
    folder: str
    department: str
    description: str
    columns: tuple[Column, ...]
    business_key: tuple[str, ...] = ()
    cadence: str = "daily"
    daily_load: bool = True           # false: another step loads it (followup: verification)
    source_dept: str | None = None    # a department signal feed: its int_dept_signals label
    health_data: bool = False         # PIPL health details: fct_dept_signal withholds them

    @functools.cached_property
    def compiled(self) -> dict:
        """What the reader compiles from this mapping (per header layout), kept with it."""
        return {}

    @functools.cached_property
    def header_index(self) -> dict[str, Column]:
        """Normalised header text -> column."""
        index: dict[str, Column] = {}
        for col in self.columns:
            for text in (*col.headers, col.name):
                index.setdefault(header_key(text), col)
        return index

    @functools.cached_property
    def identifying(self) -> frozenset[str]:
        """Columns without which a row cannot be placed: an unreadable value rejects the row.

        The business key, every `nullable: false` column and any marked `identifying: true`.
        Any other unreadable value is stored as NULL with a field warning (raw.field_warning),
        so a master-data row (a certified product, a project) is never lost to a bad detail.
        """
        key = set(self.business_key)
        return frozenset(c.name for c in self.columns
                         if c.identifying or not c.nullable or c.name in key
                         or (c.id_number_column and c.id_number_column in key))

    @property
    def required(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.required)

    @property
    def header_threshold(self) -> int:
        """How many known headers a row needs to count as the header row."""
        return max(1, min(3, (len(self.columns) + 1) // 2))

    def table_columns(self) -> list[tuple[str, str, str]]:
        """(name, sql type, Chinese comment) of the mapped columns, in raw-table order."""
        out = []
        for col in self.columns:
            out.append((col.name, col.sql_type, col.comment or col.headers[0]))
            if col.id_number_column:
                out.append((col.id_number_column, "text",
                            f"身份证号（{col.label}前18位）"))
        return out

    @functools.cached_property
    def _found(self) -> dict:
        return {}

    def find_column(self, header_text) -> Column | None:
        """The column a header cell names (None: no column). Every row near the top of a file
        is asked about, the same texts file after file: a short str's answer is remembered."""
        if type(header_text) is not str or len(header_text) > 64:
            return self._find_column(header_text)
        found = self._found
        col = found.get(header_text, found)
        if col is found:
            if len(found) >= 8192:
                found.clear()
            col = found[header_text] = self._find_column(header_text)
        return col

    def _find_column(self, header_text) -> Column | None:
        key = header_key(header_text)
        if not key:
            return None
        col = self.header_index.get(key)
        if col is None:
            # 救助类型(低保/特困) with a value list the YAML does not know: match the bare name.
            # Only value lists (containing '/'), never units such as (万元) vs (元).
            m = re.fullmatch(r"(.+)\(([^()]*/[^()]*)\)", key)
            if m:
                col = self.header_index.get(m.group(1))
        return col


def _column(folder: str, raw: dict) -> Column:
    name = raw.get("name")
    if not name or not _NAME_RE.match(name) or name in _RESERVED:
        raise ValueError(f"{folder}: bad column name {name!r}")
    ctype = raw.get("type", "text")
    if ctype not in TYPES:
        raise ValueError(f"{folder}.{name}: unknown type {ctype!r}")
    headers = raw.get("headers") or []
    if isinstance(headers, str):
        headers = [headers]
    if not headers:
        raise ValueError(f"{folder}.{name}: no headers")
    values = tuple(str(v) for v in raw.get("values") or ())
    if ctype == "enum" and not values:
        raise ValueError(f"{folder}.{name}: enum without values")
    aliases = {str(k): str(v) for k, v in (raw.get("aliases") or {}).items()}
    for target in aliases.values():
        if target not in values:
            raise ValueError(f"{folder}.{name}: alias target {target!r} not in values")
    return Column(
        name=name,
        headers=tuple(str(h) for h in headers),
        type=ctype,
        required=bool(raw.get("required", False)),
        nullable=bool(raw.get("nullable", True)),
        values=values,
        aliases=aliases,
        pattern=raw.get("pattern"),
        pattern_hint=raw.get("pattern_hint"),
        upper=bool(raw.get("upper", False)),
        units=tuple(str(u) for u in raw.get("units") or ()),
        id_number_column=raw.get("id_number_column"),
        comment=raw.get("comment"),
        identifying=bool(raw.get("identifying", False)),
    )


def load_mapping(folder: str, mappings_dir: Path | None = None) -> Mapping:
    """The mapping of one landing folder (default directory: MAPPINGS_DIR, read at call time)."""
    return _load_mapping(folder, Path(mappings_dir or MAPPINGS_DIR))


@functools.lru_cache(maxsize=None)
def _load_mapping(folder: str, mappings_dir: Path) -> Mapping:
    path = mappings_dir / f"{folder}.yml"
    raw = read_yaml(path)
    if raw.get("folder") != folder:
        raise ValueError(f"{path}: folder is {raw.get('folder')!r}, expected {folder!r}")
    columns = tuple(_column(folder, c) for c in raw["columns"])
    names = [n for c in columns for n in (c.name, c.id_number_column) if n]
    if len(names) != len(set(names)):
        raise ValueError(f"{path}: duplicate column names")
    key = tuple(raw.get("business_key") or ())
    unknown = set(key) - set(names)
    if unknown:
        raise ValueError(f"{path}: business_key names unknown columns {sorted(unknown)}")
    cadence = str(raw.get("cadence", "daily"))
    if cadence not in CADENCES:
        raise ValueError(f"{path}: cadence {cadence!r} not in {CADENCES}")
    return Mapping(folder=folder, department=raw.get("department", folder),
                   description=raw.get("description", folder), columns=columns,
                   business_key=key, cadence=cadence,
                   daily_load=bool(raw.get("daily_load", True)),
                   source_dept=raw.get("source_dept"),
                   health_data=bool(raw.get("health_data", False)))


def discover_folders(mappings_dir: Path | None = None, *, daily_only: bool = True) -> tuple[str, ...]:
    """Landing folders, one per `<folder>.yml`, in name order; by default only those the daily
    feed load reads (a mapping with `daily_load: false` is loaded by its own step)."""
    paths = sorted(Path(mappings_dir or MAPPINGS_DIR).glob("*.yml"))
    return tuple(p.stem for p in paths if not daily_only or _daily_load(p))


def _daily_load(path: Path) -> bool:
    """Only the one key, so a broken mapping still names its folder: load_all then records
    that folder's failure instead of every folder failing at import."""
    try:
        raw = read_yaml(path)
    except (OSError, UnicodeDecodeError, YAMLError):
        return True
    return not isinstance(raw, dict) or bool(raw.get("daily_load", True))


# The folders the daily feed load reads (CONTRACT §2 department feeds, §3 funds/consumption).
FOLDERS = discover_folders()
