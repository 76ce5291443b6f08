// Runs the bad-input cases of test/reliability_api_cases.ts in this (child) process, one after
// another, from index argv[2], printing `START <i>` before a case and `RESULT <i> <json>` after
// it. The parent (test/reliability_api.test.ts) restarts it after a case that hangs or kills
// the process, so one bad case cannot hide the others.
require('./ts_register');
const path = require('path');
const { CASES } = require(path.resolve(__dirname, '..', 'reliability_api_cases.ts'));
const wk = require(path.resolve(__dirname, '..', '..', 'src', 'index.ts'));

async function main() {
  const from = Number(process.argv[2] || 0);
  const only = process.argv[3] !== undefined ? Number(process.argv[3]) : CASES.length;
  for (let i = from; i < Math.min(CASES.length, only); ++i) {
    process.stdout.write(`START ${i}\n`);
    let r;
    try {
      await CASES[i].run(wk);
      r = { threw: false };
    } catch (e) {
      r = { threw: true, name: e && e.name, ctor: e && e.constructor && e.constructor.name, message: String(e && e.message) };
    }
    process.stdout.write(`RESULT ${i} ${JSON.stringify(r)}\n`);
  }
}
main().then(() => process.exit(0));
