"""Print a CycloneDX JSON SBOM of the Debian packages in /var/lib/dpkg/status."""

import json
import uuid


def packages():
    fields = {}
    with open("/var/lib/dpkg/status", encoding="utf-8") as status:
        for line in [*status.read().splitlines(), ""]:
            if not line.strip():
                if fields.get("Status", "").endswith(" installed"):
                    yield fields["Package"], fields["Version"], fields.get("Architecture", "all")
                fields = {}
            elif not line.startswith(" ") and ":" in line:
                key, _sep, value = line.partition(":")
                fields[key] = value.strip()


components = [
    {"type": "library", "name": name, "version": version, "purl": f"pkg:deb/debian/{name}@{version}?arch={arch}"}
    for name, version, arch in sorted(packages())
]
print(
    json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "version": 1,
            "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, json.dumps(components))}",
            "components": components,
        },
        indent=1,
    )
)
