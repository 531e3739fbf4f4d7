// Times fqm-execution on the published eCQM test cases, per patient, for comparison with
// `hearth measure test ../shared/ecqm` (which prints Hearth's mean time per patient).
//
//   mkdir -p /tmp/fqm && cd /tmp/fqm && npm install fqm-execution
//   NODE_PATH=/tmp/fqm/node_modules node scripts/fqm-compare.js ../shared/ecqm [rounds]
//
// For each measure: one Bundle of every Measure/Library/ValueSet, one Bundle per test case,
// one warm-up calculation, then `rounds` timed calculations of all cases.
const fs = require('fs');
const path = require('path');
const { Calculator } = require('fqm-execution');

const dir = process.argv[2] || '../shared/ecqm';
const rounds = Number(process.argv[3] || 3);
const readDir = (d) => fs.readdirSync(d).filter((f) => f.endsWith('.json')).sort()
  .map((f) => JSON.parse(fs.readFileSync(path.join(d, f), 'utf8')));

const content = ['libraries', 'valuesets'].flatMap((f) => readDir(path.join(dir, f)));
const options = {
  measurementPeriodStart: '2025-01-01', measurementPeriodEnd: '2025-12-31',
  calculateHTML: false, calculateSDEs: false, calculateClauseCoverage: false,
};

(async () => {
  for (const measure of readDir(path.join(dir, 'measures'))) {
    const measureBundle = {
      resourceType: 'Bundle', type: 'collection',
      entry: [measure, ...content].map((resource) => ({ resource })),
    };
    const casesDir = path.join(dir, 'tests', measure.name);
    const patients = fs.readdirSync(casesDir).sort().map((c) => ({
      resourceType: 'Bundle', type: 'collection',
      entry: readDir(path.join(casesDir, c))
        .filter((r) => r.resourceType !== 'MeasureReport').map((resource) => ({ resource })),
    }));
    await Calculator.calculate(measureBundle, patients, options);
    const start = process.hrtime.bigint();
    for (let i = 0; i < rounds; i += 1) {
      await Calculator.calculate(measureBundle, patients, options);
    }
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const perPatient = ms / (rounds * patients.length);
    console.log(`${measure.name}: ${patients.length} patients, ${perPatient.toFixed(3)} ms/patient`);
  }
})().catch((e) => { console.error(e); process.exit(1); });
