// Exits 0 when node_modules holds what package-lock.json lists (npm's own
// record of an install, node_modules/.package-lock.json, has the same
// packages at the same versions; optional packages for other platforms may
// be absent), else 1 with the reason on stdout.
'use strict';
var fs = require('fs');
var path = require('path');
var root = path.join(__dirname, '..');

function packages(file) {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, file), 'utf8')).packages || {};
  } catch (error) {
    return undefined;
  }
}

function differences(wanted, installed) {
  var found = [];
  Object.keys(wanted).forEach(function (name) {
    if (name === '') return;
    var have = installed[name];
    if (have === undefined && !wanted[name].optional) found.push(name + ' missing');
    else if (have !== undefined && have.version !== wanted[name].version) found.push(name + ' is ' + have.version + ', not ' + wanted[name].version);
  });
  Object.keys(installed).forEach(function (name) {
    if (wanted[name] === undefined) found.push(name + ' is not in package-lock.json');
  });
  return found;
}

var wanted = packages('package-lock.json');
var installed = packages('node_modules/.package-lock.json');
var found =
  wanted === undefined ? ['package-lock.json unreadable']
  : !fs.existsSync(path.join(root, 'node_modules')) ? ['node_modules missing']
  : installed === undefined ? ['no record of an npm install in node_modules']
  : differences(wanted, installed);
if (found.length === 0) process.exit(0);
console.log(found.slice(0, 2).join(', ') + (found.length > 2 ? ' and ' + (found.length - 2) + ' more' : ''));
process.exit(1);
