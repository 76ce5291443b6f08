// jest globalSetup: builds the test-only native pieces before any test runs (cached; see
// scripts/build-emulation.js). Test sources are never part of `npm install`.
const { buildEmulation } = require('../../scripts/build-emulation');

module.exports = async function globalSetup() {
  const code = buildEmulation({ quiet: !process.env.CI });
  if (code !== 0) throw new Error(`worldkit test setup: building worldkit_emu.node failed (exit ${code})`);
};
