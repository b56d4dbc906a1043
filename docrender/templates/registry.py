"""A tenant's uploaded templates: metadata in Redis, bytes in storage.

Uploading the same bytes twice gives the same template (same id), decided atomically in Redis
so that two concurrent uploads cannot create two.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import redis

from docrender.clock import utcnow_iso
from docrender.storage import Storage
from docrender.templates.inspection import Inspected, inspect_upload
from docrender.templates.tags import TemplateInspection
from docrender.tenants.usage import Usage

# Returns the id that holds these bytes: ARGV[2] when it was new, the earlier one otherwise.
_REGISTER = """
local existing = redis.call('HGET', KEYS[2], ARGV[1])
if existing then return existing end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return ARGV[2]
"""


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    sha256: str
    size: int
    variables: list[str]
    created_at: str
    loops: list[str] = field(default_factory=list)
    # The fonts it names and what each is rendered with (docrender/fonts/template.py).
    fonts: list[dict[str, object]] = field(default_factory=list)
    optional: list[str] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    plain: list[str] = field(default_factory=list)  # kept from the inspection (tags.py)
    # Its character and paragraph styles (inspection.style_names); empty for a template
    # uploaded before they were kept.
    styles: dict[str, list[str]] = field(default_factory=dict)
    # The names its pictures answer to (templates/pictures.py); None for a template uploaded
    # before they were kept.
    pictures: list[str] | None = None

    @property
    def inspection(self) -> TemplateInspection:
        """What its documents' data must hold (docrender/data/validation.py)."""
        return TemplateInspection(self.variables, self.loops, self.optional, self.kinds, self.plain)


def template_key(tenant: str, template_id: str) -> str:
    return f"templates/{tenant}/{template_id}.docx"


# Control characters (CR and LF among them) and the Unicode line and paragraph separators.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
MAX_NAME = 200


def clean_name(name: str) -> str:
    """A template's name as pages, lists and download names show it: one line (control
    characters become spaces), spaces collapsed, at most MAX_NAME characters; "template" if
    nothing is left."""
    one_line = " ".join(_CONTROLS.sub(" ", name).split())
    return one_line[:MAX_NAME].strip() or "template"


class TemplateRegistry:
    def __init__(
        self,
        client: redis.Redis,
        storage: Storage,
        inspect: Callable[[bytes, str], Inspected] = inspect_upload,
        usage: Usage | None = None,
    ) -> None:
        self.redis = client
        self.storage = storage
        self.usage = usage  # the tenant's storage quota, checked before a new template
        # In a child process with limits (uploads); the sample docrender ships is read here.
        self.inspect = inspect
        self._register = client.register_script(_REGISTER)

    @staticmethod
    def _keys(tenant: str) -> tuple[str, str]:
        return f"docrender:templates:{tenant}", f"docrender:templates:{tenant}:by_sha"

    def add(self, tenant: str, data: bytes, name: str) -> tuple[Template, bool]:
        """Inspect and store a template. Returns it and whether it was new for this tenant.
        ``name`` is what the client called it, cleaned (``clean_name``)."""
        name = clean_name(name)
        sha256 = hashlib.sha256(data).hexdigest()
        if (known := self.redis.hget(self._keys(tenant)[1], sha256)) and (
            existing := self.get(tenant, str(known))
        ):
            return existing, False  # the same bytes again: nothing to inspect or store
        if self.usage is not None:
            self.usage.check(tenant, len(data))
        inspected = self.inspect(data, tenant)  # raises the typed upload errors
        inspection = inspected.inspection
        candidate = Template(
            id=uuid.uuid4().hex,
            name=name,
            sha256=sha256,
            size=len(data),
            variables=inspection.variables,
            created_at=utcnow_iso(),
            loops=inspection.loops,
            fonts=inspected.fonts,
            optional=inspection.optional,
            kinds=inspection.kinds,
            plain=inspection.plain,
            styles=inspected.styles,
            pictures=inspected.pictures,
        )
        # Bytes first: once the id is visible in Redis its file must already exist.
        self.storage.put(template_key(tenant, candidate.id), data)
        winner = self._register(
            keys=list(self._keys(tenant)),
            args=[sha256, candidate.id, json.dumps(asdict(candidate), ensure_ascii=False)],
        )
        if winner == candidate.id:
            return candidate, True
        self.storage.delete(template_key(tenant, candidate.id))
        existing = self.get(tenant, winner)
        assert existing is not None, "by_sha and metadata are written together"
        return existing, False

    def get(self, tenant: str, template_id: str) -> Template | None:
        raw = self.redis.hget(self._keys(tenant)[0], template_id)
        return Template(**json.loads(raw)) if raw else None

    def list(self, tenant: str) -> list[Template]:
        raw = self.redis.hgetall(self._keys(tenant)[0])
        templates = [Template(**json.loads(value)) for value in raw.values()]
        return sorted(templates, key=lambda t: (t.created_at, t.id))

    def delete(self, tenant: str, template_id: str) -> bool:
        template = self.get(tenant, template_id)
        if template is None:
            return False
        meta_key, sha_key = self._keys(tenant)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hdel(meta_key, template_id)
        pipe.hdel(sha_key, template.sha256)
        pipe.execute()
        self.storage.delete(template_key(tenant, template_id))
        return True
