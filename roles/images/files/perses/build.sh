#!/usr/bin/env bash
# Perses (dashboards) for the monitoring stack's image, from what a build host here can reach:
# the Go module proxy serves Perses' source with its web UI's npm workspace, and npm serves the
# Prometheus and TimeSeriesChart plugins as built bundles (GitHub releases are not reachable).
# The plugins' CUE schemas come from their Go modules, and the Perses CUE module they import is
# put into a CUE module cache the image carries, so Perses validates dashboards offline.
#
#   build.sh ui|server|plugins DEST WORK
#
# ui: Perses' source into WORK, its npm workspace installed and the app built (rspack, turbo).
# server: the perses binary, the UI embedded, into DEST. plugins: DEST/share/plugins-archive/
# (one tar.gz per plugin, unpacked by Perses at start) and DEST/share/cue (the CUE cache).
# Each step ends by touching DEST/.done-<step>; the images role skips a step whose stamp is there.
# Settings come from the environment: PERSES_VERSION, PERSES_CUE_VERSION, PERSES_PLUGINS
# ("<name>|<npm package@version>|<schema Go module@version>" per line), GO, and the Go caches.
set -euo pipefail

step=$1 dest=$2 work=$3
: "${PERSES_VERSION:?}" "${PERSES_CUE_VERSION:?}" "${PERSES_PLUGINS:?}" "${GO:?}"
export GOFLAGS=-modcacherw GOTOOLCHAIN=local GOTELEMETRY=off CGO_ENABLED=0

started=$(date +%s)
say() { echo "perses $step: $* ($(($(date +%s) - started)) s)"; }

# The directory of a module version in the Go module cache (downloaded if needed).
module_dir() {
    "$GO" mod download -json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'
}

mkdir -p "$dest" "$work"
case $step in
ui)
    src=$(module_dir "github.com/perses/perses@$PERSES_VERSION")
    rm -rf "$work/perses"
    cp -r "$src" "$work/perses"
    chmod -R u+w "$work/perses"
    say "source $PERSES_VERSION copied"
    cd "$work/perses/ui"
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
    say "npm workspace installed"
    npx turbo run build --filter=@perses-dev/app... --output-logs=errors-only
    say "web UI built"
    ;;
server)
    cd "$work/perses"
    # The embed file and the compressed assets the server embeds (the project's own script).
    bash scripts/compress_assets.sh >/dev/null
    v=github.com/prometheus/common/version
    "$GO" build -trimpath -ldflags "-s -w -X $v.Version=${PERSES_VERSION#v} -X $v.Branch=HEAD" \
        -o "$dest/perses" ./cmd/perses
    say "server built"
    ;;
plugins)
    archives=$dest/share/plugins-archive
    rm -rf "$archives" "$work/plugins"
    mkdir -p "$archives" "$work/plugins"
    while IFS='|' read -r name package schemas; do
        [ -n "$name" ] || continue
        dir=$work/plugins/$name
        mkdir -p "$dir"
        tarball=$(cd "$work/plugins" && npm pack "$package" --silent)
        tar -xzf "$work/plugins/$tarball" -C "$dir" --strip-components=1
        src=$(module_dir "$schemas")
        cp -r "$src/schemas" "$src/cue.mod" "$dir/"
        chmod -R u+w "$dir"
        tar -czf "$archives/$name.tar.gz" -C "$dir" .
        say "plugin $name: $package, schemas of $schemas"
    done <<<"$PERSES_PLUGINS"
    # The CUE module the schemas import, laid out as CUE's module cache (CUE_CACHE_DIR/mod).
    cue=$dest/share/cue/mod
    rm -rf "$dest/share/cue"
    src=$(module_dir "github.com/perses/perses@$PERSES_CUE_VERSION")
    mkdir -p "$cue/extract/github.com/perses/perses" "$cue/download/github.com/perses/perses/cue/@v"
    cp -r "$src/cue" "$cue/extract/github.com/perses/perses/cue@$PERSES_CUE_VERSION"
    cp "$src/cue/cue.mod/module.cue" "$cue/download/github.com/perses/perses/cue/@v/$PERSES_CUE_VERSION.mod"
    chmod -R u+w,a+rX "$dest/share"
    say "CUE module github.com/perses/perses/cue@$PERSES_CUE_VERSION cached"
    ;;
*)
    echo "build.sh: unknown step '$step' (ui, server or plugins)" >&2
    exit 2
    ;;
esac
touch "$dest/.done-$step"
