#!/usr/bin/env bash
# Fetch the official FHIR R4 examples package (npm hl7.fhir.r4.examples 4.0.1) into
# .fhir-packages/ (gitignored), unpacked, for tests/validate_examples.rs.
# Idempotent: does nothing when the package is already unpacked.
set -euo pipefail

name="hl7.fhir.r4.examples"
version="4.0.1"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.fhir-packages/$name"
marker="$dest/package/package.json"

if [[ -f "$marker" ]] && grep -q "\"version\" *: *\"$version\"" "$marker"; then
  echo "$name@$version already in $dest"
  exit 0
fi

command -v npm >/dev/null || { echo "npm is needed to fetch $name" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# npm checks the tarball's integrity against the registry's record.
tarball="$(cd "$work" && npm pack --silent "$name@$version")"
rm -rf "$dest"
mkdir -p "$dest"
tar -xzf "$work/$tarball" -C "$dest"

if ! grep -q "\"version\" *: *\"$version\"" "$marker"; then
  echo "unexpected package contents in $dest" >&2
  exit 1
fi
count="$(find "$dest/package" -maxdepth 1 -name '*.json' | wc -l)"
echo "$name@$version unpacked in $dest ($count JSON files)"
