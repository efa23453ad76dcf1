# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""YAML text for rendered files: block style, keys in the order built, lists indented under
their key (as kubectl and most hand-written manifests do), and a comment header.

Importable by plain pytest: no Ansible import here.
"""

from __future__ import annotations

import json

try:
    import yaml
except ImportError:  # only the filters use this, on the controller, which has PyYAML (ansible-core needs it)
    yaml = None

_SafeDumper = yaml.SafeDumper if yaml else object


class _Dumper(_SafeDumper):  # type: ignore[misc,valid-type]
    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


def _str(dumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


if yaml:
    _Dumper.add_representer(str, _str)


def dump(data) -> str:
    """``data`` as a YAML document body."""
    # Plain types only: Ansible hands filters its own str/dict subclasses, which SafeDumper refuses.
    data = json.loads(json.dumps(data))
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=4096, allow_unicode=True)


def document(data, header: list[str] | None = None, start: bool = True) -> str:
    """A YAML file: ``# header`` lines, ``---`` when ``start``, then ``data``."""
    lines = [f"# {line}".rstrip() for line in header or []]
    if start:
        lines.append("---")
    return "\n".join(lines) + ("\n" if lines else "") + dump(data)
