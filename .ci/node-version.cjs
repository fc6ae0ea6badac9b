// Exits 1 with one line when the running Node is older than package.json's
// "engines" (">=MAJOR.MINOR"), instead of the stack trace ending in
// ERR_UNKNOWN_FILE_EXTENSION that an old Node prints for our .ts files.
// CommonJS and old syntax on purpose: it must run on any Node.
'use strict';
var path = require('path');
var wanted = require(path.join(__dirname, '..', 'package.json')).engines.node;
var match = /^>=(\d+)\.(\d+)$/.exec(wanted);
if (!match) {
  console.error('mtls-demo: cannot read engines.node "' + wanted + '" in package.json (expected ">=MAJOR.MINOR")');
  process.exit(2);
}
var have = process.versions.node.split('.').map(Number);
var need = [Number(match[1]), Number(match[2])];
if (have[0] > need[0] || (have[0] === need[0] && have[1] >= need[1])) process.exit(0);
console.error(
  'mtls-demo needs Node ' + wanted + ' (package.json "engines"), but ' + process.execPath + ' is ' + process.version +
    ': install Node 24 (https://nodejs.org/en/download) and put it first on PATH, or use make, which fetches it on Debian'
);
process.exit(1);
