#!/usr/bin/env node
// Derives fhir-profiles/summary-elements.json from the R4 StructureDefinitions: for each
// resource type, the top-level JSON properties `_summary=true` keeps (elements marked
// isSummary, plus mandatory ones, min >= 1), with choice elements (`value[x]`) spelled out
// per type (`valueQuantity`, ...).
//
// Source: npm hl7.fhir.r4.examples 4.0.1 (StructureDefinition-[Type].json), fetched by
// scripts/fetch-fhir-packages.sh. Licence of the definitions: CC0-1.0.
//
// Usage: scripts/fetch-fhir-packages.sh && node scripts/gen-summary-elements.js
"use strict";
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const dir = path.join(root, ".fhir-packages/hl7.fhir.r4.examples/package");
const out = path.join(root, "fhir-profiles/summary-elements.json");

const upper = (s) => s.charAt(0).toUpperCase() + s.slice(1);
const types = {};
for (const file of fs.readdirSync(dir).sort()) {
  if (!file.startsWith("StructureDefinition-") || !file.endsWith(".json")) continue;
  const sd = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
  if (sd.kind !== "resource" || sd.derivation !== "specialization" || sd.abstract) continue;
  const names = [];
  for (const element of sd.snapshot.element) {
    const parts = element.path.split(".");
    if (parts.length !== 2) continue;
    if (!element.isSummary && !(element.min >= 1)) continue;
    const name = parts[1];
    if (name.endsWith("[x]")) {
      const stem = name.slice(0, -3);
      for (const t of element.type || []) names.push(stem + upper(t.code));
    } else {
      names.push(name);
    }
  }
  types[sd.type] = names;
}
const sorted = Object.fromEntries(Object.keys(types).sort().map((t) => [t, types[t]]));
fs.writeFileSync(out, JSON.stringify(sorted, null, 1) + "\n");
console.log(`${Object.keys(sorted).length} resource types written to ${path.relative(root, out)}`);
