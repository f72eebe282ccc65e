"""Settings: the catalog root's config file (ingest.yaml), with the INGEST_* / OPENAI_* environment applied.

Every option has a default and a description; the bundled ingest.yaml is written from these defaults. The
library never reads the process environment: the CLI (or a script) builds an `Env` (env.py) from a mapping
once (`Env.from_mapping(os.environ)`) and hands it to the CatalogRoot, which applies it to the config.
"""

# No `from __future__ import annotations` here: pydantic would parse each annotation string (start-up).
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# Env lives in env.py (no pydantic, so every command builds it cheaply); importable from here too.
from ingest.env import Env as Env
from ingest.env import service_url
from ingest.errors import CatalogError, ConfigError
from ingest.yamlio import line_of, load_yaml


class _Section(BaseModel):
    # defer_build: validators are built on first use, not when a command imports this module.
    model_config = ConfigDict(extra="forbid", defer_build=True)


class RenderConfig(_Section):
    output: str = Field(default="README.md", description="the rendered catalog, relative to the root")
    begin_marker: str = Field(
        default="<!-- ingest:catalog:begin -->", description="render between these markers"
    )
    end_marker: str = Field(
        default="<!-- ingest:catalog:end -->", description="when the output file has both"
    )
    exclusions: bool = Field(default=True, description="render the 'excluded on verification' lines")


class ArxivConfig(_Section):
    queries: list[str] = Field(
        default_factory=lambda: [
            'abs:"on-policy distillation"',
            'abs:"on policy distillation"',
            'abs:"self-distillation" AND abs:"language model"',
            'abs:"knowledge distillation" AND abs:"student-generated"',
            'abs:"speculative decoding" AND abs:"distillation"',
            'ti:"distillation" AND abs:"reverse KL"',
        ],
        description="arXiv search queries (the API's syntax); each is combined with the categories",
    )
    categories: list[str] = Field(
        default_factory=lambda: ["cs.CL", "cs.LG", "cs.AI", "cs.CV"], description="arXiv categories to search"
    )
    url: str = Field(
        default="https://export.arxiv.org/api/query", description="query endpoint; INGEST_ARXIV_URL overrides"
    )
    pdf_url: str = Field(
        default="https://arxiv.org/pdf", description="PDF host; INGEST_ARXIV_PDF_URL overrides"
    )
    delay_seconds: float = Field(
        default=3.0, ge=0, description="pause between API calls (arXiv asks for 3 s)"
    )

    _urls = field_validator("url", "pdf_url")(service_url)
    page_size: int = Field(default=100, ge=1, le=2000, description="results per API call")
    max_results: int = Field(default=200, ge=1, description="most candidates per run (--max overrides)")
    lookback_days: int = Field(default=7, ge=1, description="window of a first run that has no watermark")
    overlap_days: float = Field(
        default=3.0, ge=0, description="days a window reaches back before the watermark (late announcements)"
    )
    results_per_query: int = Field(
        default=2000, ge=1, description="most arXiv results read per query; the watermark stops there"
    )
    version_batch: int = Field(
        default=100, ge=0, description="catalog arXiv ids per version-check call (0: no version check)"
    )
    title_match_threshold: float = Field(
        default=92.0,
        ge=0,
        le=100,
        description="fuzzy title score (0-100) that makes a candidate a known entry",
    )


class DownloadConfig(_Section):
    timeout_seconds: float = Field(default=60.0, gt=0, description="per-request timeout")
    retries: int = Field(default=3, ge=0, description="retries on 429, 5xx and timeouts")
    backoff_seconds: float = Field(default=2.0, ge=0, description="first backoff; doubles each retry")
    max_bytes: int = Field(default=50 * 1024 * 1024, gt=0, description="refuse PDFs larger than this")


class ReadConfig(_Section):
    context_tokens: int = Field(
        default=6000, ge=500, description="token budget of the context sent to the LLM"
    )
    workers: int = Field(default=2, ge=1, description="processes that parse PDFs in parallel")
    engine: Literal["pdfium", "pypdf"] = Field(
        default="pdfium", description="text reader: pdfium (fast) or pypdf (reads what PDFium cannot open)"
    )


class ModelPrice(_Section):
    input_per_mtok: float = Field(ge=0, description="USD per million prompt tokens")
    output_per_mtok: float = Field(ge=0, description="USD per million completion tokens")


class ExtractConfig(_Section):
    backend: Literal["auto", "openai", "heuristic"] = Field(
        default="auto", description="auto: openai when OPENAI_API_KEY is set, else heuristic"
    )
    model: str = Field(default="gpt-4o-mini", description="model name; INGEST_MODEL overrides")
    mode: str = Field(
        default="TOOLS",
        description="instructor mode: TOOLS, JSON, MD_JSON, JSON_SCHEMA (local servers differ)",
    )
    max_reasks: int = Field(default=2, ge=0, description="re-asks when the answer violates the schema")
    retries: int = Field(default=3, ge=0, description="retries on 429/5xx and timeouts")
    backoff_seconds: float = Field(
        default=1.0, ge=0, description="first wait before a retry without Retry-After; doubles each retry"
    )
    timeout_seconds: float = Field(
        default=120.0, gt=0, description="longest wait for one HTTP request (connect: at most 10 s)"
    )
    deadline_seconds: float = Field(
        default=120.0,
        gt=0,
        description="total time of one LLM question: connect, read, re-asks and retries together; "
        "then the paper fails with a one-line message (exit 3 for `add`)",
    )
    concurrency: int = Field(default=4, ge=1, description="papers extracted at once")
    temperature: float = Field(
        default=0.0, ge=0, le=2, description="sampling temperature; 0 keeps answers repeatable"
    )
    few_shot: int = Field(default=2, ge=0, description="approved entries shown as examples")
    cross_check: Literal["heuristic", "second-sample", "none"] = Field(
        default="heuristic",
        description="second opinion that feeds the agreement part of the confidence; second-sample asks the "
        "openai backend a second, independent time (cross_check_model, cross_check_temperature) and counts "
        "its cost",
    )
    cross_check_model: str | None = Field(
        default=None, description="model of the second sample (default: the extraction model)"
    )
    cross_check_temperature: float = Field(
        default=0.7, ge=0, le=2, description="sampling temperature of the second sample (0 repeats the first)"
    )
    prices: dict[str, ModelPrice] = Field(
        default_factory=lambda: {
            "gpt-4o-mini": {"input_per_mtok": 0.15, "output_per_mtok": 0.60},
            "gpt-4o": {"input_per_mtok": 2.50, "output_per_mtok": 10.00},
            "gpt-4.1-mini": {"input_per_mtok": 0.40, "output_per_mtok": 1.60},
        },
        validate_default=True,
        description="price table for cost reports; unknown models cost 0",
    )


class CheckConfig(_Section):
    min_confidence: float = Field(default=0.6, ge=0, le=1, description="fields below this are flagged")


class EvaluateConfig(_Section):
    truth: str | None = Field(
        default=None,
        description="file of decided facts per PDF (in scope, section, teacher source, half), relative to "
        "the root; `ingest eval` scores those papers, the out-of-scope ones as negatives",
    )


class Config(_Section):
    """ingest.yaml in the catalog root."""

    # Missing sections are validated from {} inside Config's own validator: a default_factory of the section
    # class would build that class's validator too, once per section, on every command.
    render: RenderConfig = Field(default_factory=dict, validate_default=True)
    arxiv: ArxivConfig = Field(default_factory=dict, validate_default=True)
    download: DownloadConfig = Field(default_factory=dict, validate_default=True)
    read: ReadConfig = Field(default_factory=dict, validate_default=True)
    extract: ExtractConfig = Field(default_factory=dict, validate_default=True)
    check: CheckConfig = Field(default_factory=dict, validate_default=True)
    evaluate: EvaluateConfig = Field(default_factory=dict, validate_default=True)


OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"


def section_keys(model: type[BaseModel], loc: list[Any]) -> list[str] | None:
    """The keys the (sub)section holding `loc`'s last key accepts, or None when `loc` leaves the models."""
    for key in loc[:-1]:
        field = model.model_fields.get(str(key))
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return list(model.model_fields)


def config_error(path: Path, data: Any, exc: ValidationError, model: type[BaseModel]) -> ConfigError:
    """The first validation error as a one-line ConfigError; an unknown key lists its section's keys."""
    err = exc.errors()[0]
    loc = list(err["loc"])
    where = ".".join(map(str, loc)) or path.name
    message, hint = f"{where}: {err['msg']}", None
    keys = section_keys(model, loc) if err["type"] == "extra_forbidden" else None
    if keys is not None:
        section = ".".join(map(str, loc[:-1])) or "the top level"
        message = f"{where}: unknown key; {section} takes {', '.join(keys)}"
        hint = "fix the spelling or remove the key; docs/CLI.md describes each setting"
    return ConfigError(path, message, line=line_of(data, loc), hint=hint)


def load_config(path: Path, env: Env | None = None) -> Config:
    """Load ingest.yaml (missing file: all defaults) and apply the overrides of `env` (if given).

    A broken file raises ConfigError (exit 2, bad configuration) with its line."""
    config = Config()
    if path.exists():
        try:
            data = load_yaml(path) or {}
        except CatalogError as exc:
            raise ConfigError(exc.file, exc.detail, line=exc.line, hint=exc.hint) from exc
        if not isinstance(data, dict):
            raise ConfigError(path, "not a mapping of sections", line=1, hint="see docs/CLI.md for the keys")
        try:
            config = Config.model_validate(data)
        except ValidationError as exc:
            raise config_error(path, data, exc, Config) from exc
    return with_env(config, env)


def with_env(config: Config, env: Env | None) -> Config:
    """`config` with the overrides of `env` applied (in place; returned for chaining)."""
    env = env or Env()
    if env.arxiv_url:
        config.arxiv.url = env.arxiv_url
    if env.arxiv_pdf_url:
        config.arxiv.pdf_url = env.arxiv_pdf_url
    if env.arxiv_delay is not None:
        config.arxiv.delay_seconds = env.arxiv_delay
    if env.model:
        config.extract.model = env.model
    return config
