"""Prompt templates as files in ``prompts/``: YAML front matter (name, version) and a Jinja2
body split into ``[system]`` and ``[user]`` parts. The answer records the name and version."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import jinja2
import yaml

from assistant.models import PromptRef

_ENV = jinja2.Environment(
    autoescape=False, undefined=jinja2.StrictUndefined, keep_trailing_newline=False
)
_PART = re.compile(r"^\[(system|user)\]\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    template: jinja2.Template

    @property
    def ref(self) -> PromptRef:
        return PromptRef(name=self.name, version=self.version)

    def messages(self, **values: object) -> list[dict[str, str]]:
        text = self.template.render(**values)
        pieces = _PART.split(text)
        messages = []
        for role, content in zip(pieces[1::2], pieces[2::2]):
            if content.strip():
                messages.append({"role": role, "content": content.strip()})
        return messages


@cache
def load_prompt(name: str) -> Prompt:
    text = resources.files("prompts").joinpath(f"{name}.md").read_text(encoding="utf-8")
    _, front, body = text.split("---", 2)
    meta = yaml.safe_load(front)
    return Prompt(
        name=meta["name"], version=str(meta["version"]), template=_ENV.from_string(body.strip())
    )
