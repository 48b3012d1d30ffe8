#!/usr/bin/env bash
# launch/format.sh: format the C sources with clang-format and the committed .clang-format.
#
#   launch/format.sh            reformat every tracked .c and .h file in place
#   launch/format.sh --check    change nothing; list the files that differ, exit 1 if any does
#
# Needs clang-format 14 or later (launch/setup.sh installs it). CLANG_FORMAT names another binary.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
check=0
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    -h|--help) sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "format.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

cf="${CLANG_FORMAT:-clang-format}"
if ! command -v "$cf" >/dev/null 2>&1; then
  echo "format.sh: $cf not found (run launch/setup.sh, or set CLANG_FORMAT)" >&2
  exit 2
fi
major="$("$cf" --version | sed -n 's/.*version \([0-9][0-9]*\).*/\1/p')"
if [ -z "$major" ] || [ "$major" -lt 14 ]; then
  echo "format.sh: $cf is version ${major:-unknown}; .clang-format needs 14 or later" >&2
  exit 2
fi

cd "$here"
mapfile -t files < <(git ls-files '*.c' '*.h')
if [ "$check" = 0 ]; then
  "$cf" -i --style=file "${files[@]}"
  exit 0
fi
differ=0
for f in "${files[@]}"; do
  if ! "$cf" --style=file "$f" | cmp -s - "$f"; then
    echo "$f"
    differ=$((differ + 1))
  fi
done
if [ "$differ" -gt 0 ]; then
  echo "format.sh: $differ of ${#files[@]} files differ from .clang-format (launch/format.sh fixes them)" >&2
  exit 1
fi
echo "format.sh: all ${#files[@]} files match .clang-format" >&2
