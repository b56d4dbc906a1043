"""`docrender`: the command line for a bureau's batch.

    docrender submit TEMPLATE.docx DATA --out DIR [--merged] [--zip] ...
    docrender inspect TEMPLATE.docx
    docrender validate TEMPLATE.docx DATA
    docrender keys create TENANT | keys list | keys revoke KEY_ID

Against `make run` on this machine it needs no --server or --key: it reads the development
key make run keeps under the data directory. `keys` talks to Redis directly (an operator's
tool): DOCRENDER_REDIS_URL, or the private Redis `make run` started.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import redis
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.stack import DEVELOPMENT_KEY_FILE, REDIS_URL_FILE
from docrender.data.files import read_data_file
from docrender.data.validation import RELAX_STRICT, check_documents, plural, unused_columns
from docrender.errors import DocrenderError
from docrender.fonts.template import font_report
from docrender.jobs.formats import FORMATS
from docrender.processes import poll_until
from docrender.settings import TENANT_NAME, ClientSettings
from docrender.templates.tags import inspect_template
from docrender.tenants.keys import KeyStore

console = Console(stderr=True, highlight=False)
# 1: some documents failed; 2: the request was refused (or the input is wrong); 3: the
# service or its Redis could not be reached at all.
EXIT_OK, EXIT_FAILED_DOCUMENTS, EXIT_ERROR, EXIT_UNREACHABLE = 0, 1, 2, 3
MAX_ROWS_OFFLINE = 100_000


class CliError(Exception):
    """Something the user can fix; printed without a traceback."""

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.details = details


def main(argv: Sequence[str] | None = None, *, transport: httpx.BaseTransport | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args, transport))
    except CliError as exc:
        console.print(f"[red]error:[/red] {exc}")
        _print_details(exc.details)
        return EXIT_ERROR
    except DocrenderError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        _print_details(exc.details)
        return EXIT_ERROR
    except httpx.TransportError as exc:
        where = exc.request.url.copy_with(path="/", query=None) if _has_request(exc) else "it"
        console.print(
            f"[red]error:[/red] cannot reach docrender at {where} "
            f"({exc.__class__.__name__}): is it running? (`make run` starts it; "
            "--server or DOCRENDER_SERVER point elsewhere)"
        )
        return EXIT_UNREACHABLE
    except (redis.ConnectionError, redis.TimeoutError):
        console.print(
            "[red]error:[/red] cannot reach the key store's Redis: is the stack "
            "running? (`make run` starts it; DOCRENDER_REDIS_URL points elsewhere)"
        )
        return EXIT_UNREACHABLE
    except redis.RedisError as exc:
        console.print(f"[red]error:[/red] Redis: {exc}")
        return EXIT_ERROR


def _has_request(exc: httpx.TransportError) -> bool:
    try:
        exc.request  # noqa: B018 (raises when the error came before a request was made)
    except RuntimeError:
        return False
    return True


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="docrender", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    submit = commands.add_parser(
        "submit",
        help="render one document per row of DATA and download them",
        description="Upload TEMPLATE (idempotent), submit one document per row of DATA "
        "(.xlsx, .csv or .json), show progress, download the results into --out. Exits 1 "
        "when any document failed, 2 when the job was refused, 3 when the service cannot be "
        "reached.",
    )
    submit.add_argument("template", type=Path, help="the .docx template")
    submit.add_argument("data", type=Path, help="the data: .xlsx, .csv or .json")
    submit.add_argument("--out", type=Path, required=True, help="folder for the results")
    submit.add_argument("--merged", action="store_true", help="also download one merged PDF")
    submit.add_argument("--zip", action="store_true", help="also download all files as a ZIP")
    submit.add_argument(
        "--format",
        choices=("pdf", "pdfa", "docx"),
        default="pdf",
        help="pdfa: PDF/A-2b, for archives",
    )
    submit.add_argument("--name", help='file name pattern, e.g. "{{ unit }}-匯報材料"')
    submit.add_argument("--no-strict", action="store_true", help="render missing values empty")
    submit.add_argument(
        "--language",
        help="zh-Hans or zh-Hant (zh-CN, zh-TW...): the glyph "
        "forms where the template does not say",
    )
    submit.add_argument(
        "--typography",
        choices=("zh",),
        help="zh: full-width punctuation "
        "next to Chinese text, no spaces between Chinese characters",
    )
    submit.add_argument("--server", help="docrender's URL (default: make run's)")
    submit.add_argument("--key", help="API key (default: $DOCRENDER_API_KEY or make run's)")
    submit.set_defaults(run=_submit)

    inspect = commands.add_parser(
        "inspect",
        help="list what a template reads",
        description="List the variables "
        "TEMPLATE reads, the values it loops over, and the fonts it names with the face "
        "each is rendered with (offline).",
    )
    inspect.add_argument("template", type=Path)
    inspect.set_defaults(run=_inspect)

    validate = commands.add_parser(
        "validate",
        help="check DATA against a template: the render's verdict on each row",
        description="A dry run of the job submit would send: the service fills every row of "
        "DATA into TEMPLATE as its render would (nothing converted, nothing kept) and says, "
        "row by row, what would stop it printing: a missing value, a value of the wrong "
        "shape, a value the template cannot use (its column and what to type). --offline "
        "checks only what the template's tags say of the data's shape, without a service. "
        "Exits 1 when any row would not print, 2 when the job was refused, 3 when the "
        "service cannot be reached.",
    )
    validate.add_argument("template", type=Path)
    validate.add_argument("data", type=Path)
    validate.add_argument("--name", help='file name pattern, e.g. "{{ unit }}-匯報材料"')
    validate.add_argument("--no-strict", action="store_true", help="missing values print empty")
    validate.add_argument(
        "--offline", action="store_true", help="shapes only, without a service (nothing filled)"
    )
    validate.add_argument("--server", help="docrender's URL (default: make run's)")
    validate.add_argument("--key", help="API key (default: $DOCRENDER_API_KEY or make run's)")
    validate.set_defaults(run=_validate)

    keys = commands.add_parser(
        "keys",
        help="manage API keys in the key store",
        description="API keys kept in Redis, besides DOCRENDER_API_KEYS. A key is shown "
        "once, when created; the store keeps only its hash.",
    )
    key_commands = keys.add_subparsers(required=True, metavar="ACTION")
    create = key_commands.add_parser(
        "create", help="a new key for TENANT (and its webhook secret, made on first use)"
    )
    create.add_argument("tenant")
    create.set_defaults(run=_keys_create)
    listing = key_commands.add_parser("list", help="every key: id, tenant, created, revoked")
    listing.set_defaults(run=_keys_list)
    revoke = key_commands.add_parser("revoke", help="refuse KEY_ID from the next request on")
    revoke.add_argument("key_id")
    revoke.set_defaults(run=_keys_revoke)
    return parser


# --- offline commands -------------------------------------------------------------------


def _inspect(args: argparse.Namespace, _: Any) -> int:
    inspection = inspect_template(_read(args.template))
    count = len(inspection.variables)
    print(f"{args.template.name} reads {count} {'variable' if count == 1 else 'variables'}:")
    for name in inspection.variables:
        notes = []
        if name in inspection.optional:
            notes.append("optional: the template says what to print without it")
        if name in inspection.kinds:
            notes.append("rich text" if inspection.kinds[name] == "r" else "rich text or a .docx")
        print(f"  {name}" + (f"  ({'; '.join(notes)})" if notes else ""))
    if inspection.loops:
        print("and loops over (each must be a list):")
        for path in inspection.loops:
            depth = path.count("[]")
            print(f"  {'  ' * depth}{path}")
    print("fonts (requested -> rendered with):")
    for use in font_report(_read(args.template)):
        note = "embedded" if use.embedded else "exact" if use.exact else "substitute"
        if use.different_style:
            note += ", DIFFERENT STYLE: check the output"
        print(f"  {use.requested} -> {use.used or 'unknown (no fontconfig here)'} ({note})")
    return EXIT_OK


def _validate(args: argparse.Namespace, transport: httpx.BaseTransport | None) -> int:
    if args.offline:
        return _validate_offline(args)
    with _client(args, transport) as http:
        template = _call(
            http.post("/v1/templates", files={"file": (args.template.name, _read(args.template))})
        )
        form = {"template": template["id"]}
        if args.name:
            form["name"] = args.name
        if args.no_strict:
            form["strict"] = "false"
        checked = _call(
            http.post(
                "/v1/jobs/dry-run", data=form, files={"data": (args.data.name, _read(args.data))}
            )
        )
    for warning in checked.get("warnings", []):
        console.print(f"[yellow]warning:[/yellow] {warning['message']}")
    documents = checked["documents"]
    for document in documents:
        place = f"row {document['row']}" if document["row"] else f"document {document['index']}"
        for problem in document["problems"]:
            console.print(f"[red]✗[/red] {place} ({document['name']}): {problem['message']}")
            if tag := problem.get("details", {}).get("tag"):
                console.print(f"  [dim]in the template: {tag}[/dim]")
    if checked["fit"] < len(documents):
        console.print(
            f"{checked['fit']} of {plural(len(documents), 'document')} of {args.data.name} "
            "would print"
        )
        return EXIT_FAILED_DOCUMENTS
    every = "the 1 document" if len(documents) == 1 else f"all {len(documents)} documents"
    print(f"{every} of {args.data.name} would print with {args.template.name}")
    return EXIT_OK


def _validate_offline(args: argparse.Namespace) -> int:
    inspection = inspect_template(_read(args.template))
    sheet = read_data_file(args.data.name, _read(args.data), MAX_ROWS_OFFLINE)
    if warning := unused_columns(inspection, sheet.columns):
        console.print(f"[yellow]warning:[/yellow] {warning['message']}")
    try:
        check_documents(inspection, sheet.documents, sheet.places())
    except DocrenderError as exc:
        console.print(f"[red]{_cli_words(exc.message)}[/red]")
        return EXIT_FAILED_DOCUMENTS
    every = (
        "the 1 document" if len(sheet.documents) == 1 else f"all {len(sheet.documents)} documents"
    )
    print(f"{every} of {args.data.name} fit {args.template.name}")
    return EXIT_OK


def _cli_words(message: str) -> str:
    """A message of the service as the command line says it: its flags, not JSON fields."""
    return message.replace(RELAX_STRICT, "pass --no-strict to print missing values empty")


# --- keys -------------------------------------------------------------------------------


def _keys_create(args: argparse.Namespace, _: Any) -> int:
    if not TENANT_NAME.fullmatch(args.tenant):
        raise CliError(f"tenant {args.tenant!r} may only use letters, digits, '_', '.', '-'")
    store = _key_store()
    record, key = store.create(args.tenant)
    secret = store.ensure_webhook_secret(args.tenant)
    print(f"key id:         {record.id}")
    print(f"tenant:         {record.tenant}")
    print(f"API key:        {key}")
    print(f"webhook secret: {secret}")
    console.print("The API key is shown only now; store it safely.")
    return EXIT_OK


def _keys_list(args: argparse.Namespace, _: Any) -> int:
    records = _key_store().list()
    if not records:
        console.print("no keys in the store (keys from DOCRENDER_API_KEYS are not listed)")
    for record in records:
        state = f"revoked {record.revoked_at}" if record.revoked_at else "live"
        print(f"{record.id}  {record.tenant:<20} created {record.created_at}  {state}")
    return EXIT_OK


def _keys_revoke(args: argparse.Namespace, _: Any) -> int:
    if not _key_store().revoke(args.key_id):
        raise CliError(f"there is no live key {args.key_id!r}; `docrender keys list` shows them")
    print(f"revoked {args.key_id}")
    return EXIT_OK


def _key_store() -> KeyStore:
    settings = ClientSettings.from_env()
    url = settings.redis_url or _make_run_redis_url(settings.data_dir)
    return KeyStore(redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=3))


def _make_run_redis_url(data_dir: Path) -> str:
    path = data_dir / REDIS_URL_FILE
    if not path.exists():
        raise CliError("no Redis: set DOCRENDER_REDIS_URL, or start `make run`")
    return path.read_text().strip()


# --- submit -----------------------------------------------------------------------------


def _submit(args: argparse.Namespace, transport: httpx.BaseTransport | None) -> int:
    with _client(args, transport) as http:
        template = _call(
            http.post("/v1/templates", files={"file": (args.template.name, _read(args.template))})
        )
        form = {"template": template["id"], "format": args.format}
        if args.name:
            form["name"] = args.name
        if args.no_strict:
            form["strict"] = "false"
        if args.language:
            form["language"] = args.language
        if args.typography:
            form["typography"] = args.typography
        job = _call(
            http.post("/v1/jobs", data=form, files={"data": (args.data.name, _read(args.data))})
        )
        console.print(f"job {job['id']}: {plural(len(job['documents']), 'document')}")
        for warning in job.get("warnings", []):
            console.print(f"[yellow]warning:[/yellow] {warning['message']}")
        job = _follow(http, job)
        args.out.mkdir(parents=True, exist_ok=True)
        _download(http, job, args)
    failed = [d for d in job["documents"] if d["status"] == "failed"]
    for doc in failed:
        console.print(f"[red]✗[/red] {doc['index']} {doc['name']}: {doc['error']['message']}")
    done = job["progress"]["succeeded"]
    console.print(
        f"{done} of {plural(len(job['documents']), 'document')} in {args.out}"
        + (f", {len(failed)} failed" if failed else "")
    )
    return EXIT_FAILED_DOCUMENTS if failed else EXIT_OK


def _client(args: argparse.Namespace, transport: httpx.BaseTransport | None) -> httpx.Client:
    settings = ClientSettings.from_env()
    key = args.key or settings.api_key or _development_key(settings.data_dir)
    return httpx.Client(
        base_url=args.server or settings.server,
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
        transport=transport,
    )


def _development_key(data_dir: Path) -> str:
    path = data_dir / DEVELOPMENT_KEY_FILE
    if not path.exists():
        raise CliError("no API key: pass --key, set DOCRENDER_API_KEY, or start `make run`")
    return path.read_text().strip().split(":", 1)[1]


def _follow(http: httpx.Client, job: dict[str, Any]) -> dict[str, Any]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("failed {task.fields[failed]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("rendering", total=len(job["documents"]), failed=0)
        while job["finished_at"] is None:
            time.sleep(0.5)
            job = _call(http.get(f"/v1/jobs/{job['id']}"))
            done = job["progress"]["succeeded"] + job["progress"]["failed"]
            progress.update(bar, completed=done, failed=job["progress"]["failed"])
    return job


def _download(http: httpx.Client, job: dict[str, Any], args: argparse.Namespace) -> None:
    for doc in job["documents"]:
        if doc["url"]:
            extension = FORMATS[job["format"]].extension
            (args.out / f"{doc['name']}.{extension}").write_bytes(_fetch(http, doc["url"]))
    if args.zip and job["progress"]["succeeded"]:
        (args.out / f"{args.data.stem}.zip").write_bytes(
            _fetch(http, f"/v1/jobs/{job['id']}/archive", wait_while_building=True)
        )
    if args.merged and job["progress"]["succeeded"] and job["format"] == "pdf":
        (args.out / f"{args.data.stem}-merged.pdf").write_bytes(
            _fetch(http, f"/v1/jobs/{job['id']}/merged", wait_while_building=True)
        )


def _fetch(http: httpx.Client, url: str, wait_while_building: bool = False) -> bytes:
    def answered() -> httpx.Response | None:
        response = http.get(url)
        # 409: the archive and merged volume are being built, right after the job finished.
        return None if response.status_code == 409 and wait_while_building else response

    response = poll_until(answered, 120, interval=0.5) or http.get(url)
    _call(response)
    return response.content


def _call(response: httpx.Response) -> dict[str, Any]:
    if response.is_success:
        return (
            response.json()
            if response.headers.get("content-type", "").startswith("application/json")
            else {}
        )
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        raise CliError(f"{response.status_code} from {response.url}") from None
    raise CliError(f"{_cli_words(error['message'])} ({error['code']})")


def _print_details(details: Any) -> None:
    if isinstance(details, list):
        for item in details:
            if isinstance(item, dict) and "document" in item:
                parts = []
                if item.get("missing"):
                    parts.append("missing " + ", ".join(item["missing"]))
                parts += [
                    f"{shape['variable']} is {shape['got']}, not a list"
                    for shape in item.get("wrong_shape", [])
                ]
                console.print(f"  document {item['document']}: " + "; ".join(parts))
            else:
                console.print(f"  {item}")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None


if __name__ == "__main__":
    sys.exit(main())
