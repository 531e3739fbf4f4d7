#!/usr/bin/env node
// Derives fhir-profiles/summary-elements.json from the R4 StructureDefinitions: what
// `_summary=true` keeps, at every depth. The file maps a definition name to the JSON
// properties it keeps (elements marked isSummary, plus mandatory ones, min >= 1), each with the
// definition that trims its value in turn, or null when the value is kept whole:
//
//   "Patient":      {"name": "HumanName", "link": "Patient.link", "gender": null, ...}
//   "Patient.link": {"other": "Reference", "type": null, ...}
//   "HumanName":    {"family": null, "period": "Period", ...}
//
// Definitions are the concrete resource types, their backbone elements (by path) and the
// complex datatypes. Choice elements (`value[x]`) are spelled out per type (`valueQuantity`,
// ...). Extension, Meta and Resource (contained, Bundle entries) are kept whole.
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
const keptWhole = new Set(["Extension", "Meta", "Resource"]);

const definitions = [];
for (const file of fs.readdirSync(dir).sort()) {
  if (!file.startsWith("StructureDefinition-") || !file.endsWith(".json")) continue;
  const sd = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
  if (sd.derivation !== "specialization" || sd.abstract) continue;
  if (sd.kind !== "resource" && sd.kind !== "complex-type") continue;
  if (keptWhole.has(sd.type)) continue;
  definitions.push(sd);
}
const complexTypes = new Set(
  definitions.filter((sd) => sd.kind === "complex-type").map((sd) => sd.type)
);

const table = {};
for (const sd of definitions) {
  const elements = sd.snapshot.element;
  // Paths with children of their own (backbone elements) are definitions by path.
  const parents = new Set(elements.map((e) => e.path.split(".").slice(0, -1).join(".")));
  for (const element of elements) {
    const parts = element.path.split(".");
    if (parts.length < 2) continue;
    if (!element.isSummary && !(element.min >= 1)) continue;
    const owner = parts.slice(0, -1).join(".");
    const name = parts[parts.length - 1];
    const entry = (table[owner] = table[owner] || {});
    const trimmedBy = (code) => {
      if (element.contentReference) return element.contentReference.replace(/^#/, "");
      if (parents.has(element.path)) return element.path;
      return complexTypes.has(code) ? code : null;
    };
    if (name.endsWith("[x]")) {
      const stem = name.slice(0, -3);
      for (const t of element.type || []) entry[stem + upper(t.code)] = trimmedBy(t.code);
    } else {
      const code = ((element.type || [])[0] || {}).code;
      entry[name] = trimmedBy(code);
    }
  }
}
// A definition whose every element is dropped still trims its values to nothing kept.
for (const sd of definitions) table[sd.type] = table[sd.type] || {};

const names = Object.keys(table).sort();
const lines = names.map((n) => `${JSON.stringify(n)}: ${JSON.stringify(table[n])}`);
fs.writeFileSync(out, `{\n${lines.join(",\n")}\n}\n`);
const resources = definitions.filter((sd) => sd.kind === "resource").length;
console.log(
  `${names.length} definitions (${resources} resource types) written to ${path.relative(root, out)}`
);
