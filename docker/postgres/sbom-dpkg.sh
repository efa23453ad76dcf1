#!/bin/sh
# Print a CycloneDX 1.5 JSON SBOM of the installed Debian packages (dpkg database), with
# package URLs pkg:deb/debian/<name>@<version>?arch=<arch>. Reproducible: no timestamp or
# serial number. POSIX sh and dpkg-query only (the image has no Python).
set -eu
printf '{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,'
printf '"metadata":{"component":{"type":"container","name":"postgres"}},"components":['
dpkg-query --show --showformat='${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\n' \
    | awk -F '\t' 'BEGIN { sep = "" }
        $1 ~ /^ii/ {
            v = $3; gsub(/\+/, "%2B", v); gsub(/:/, "%3A", v)
            printf "%s{\"type\":\"library\",\"name\":\"%s\",\"version\":\"%s\",\"purl\":\"pkg:deb/debian/%s@%s?arch=%s\",\"bom-ref\":\"pkg:deb/debian/%s@%s?arch=%s\"}", sep, $2, $3, $2, v, $4, $2, v, $4
            sep = ","
        }'
printf ']}\n'
