# Runs inside the image under test (as root, so private directories are visible; no
# network): prints one `key value` line per finding for roles/images/tasks/policy.yml.
# POSIX sh only. $1: forbidden executables; $2: cache directories (space-separated);
# $3: the image's USER setting (name or uid, optionally :group).
user=${3%%:*}
case "$user" in
    '') echo "uid 0" ;;
    *[!0-9]*) echo "uid $(id -u "$user" 2>/dev/null || echo -1)" ;;
    *) echo "uid $user" ;;
esac
for name in $1; do
    for dir in $(echo "$PATH:/usr/bin:/usr/local/bin:/bin" | tr ':' ' '); do
        if [ -x "$dir/$name" ] && [ ! -d "$dir/$name" ]; then
            echo "tool $dir/$name"
            break
        fi
    done
done
for dir in $2; do
    if [ -d "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null | grep -v -x -e partial -e lock)" ]; then
        echo "cache $dir"
    fi
done
echo "end"
