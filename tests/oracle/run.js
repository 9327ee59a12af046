#!/usr/bin/env node
// Test oracle: classifies exams with the pinned reference implementation (npm `isncsci`).
//
//   node run.js [FILE]          read a JSON array of exams (reference nested format) from FILE
//                               or stdin; write a JSON array of flat result records to stdout
//   node run.js --bench [FILE]  time only the classification loop; print {"exams": n, "seconds": s}
//
// An exam that makes the reference throw yields {"error": "message"} in its place.
'use strict';

const fs = require('fs');
const { ISNCSCI } = require('isncsci');

function toRecord(result) {
  const c = result.classification;
  const t = result.totals;
  return {
    sensory_right: c.neurologicalLevels.sensoryRight,
    sensory_left: c.neurologicalLevels.sensoryLeft,
    motor_right: c.neurologicalLevels.motorRight,
    motor_left: c.neurologicalLevels.motorLeft,
    nli: c.neurologicalLevelOfInjury,
    ais: c.ASIAImpairmentScale,
    complete: c.injuryComplete,
    zpp_sensory_right: c.zoneOfPartialPreservations.sensoryRight,
    zpp_sensory_left: c.zoneOfPartialPreservations.sensoryLeft,
    zpp_motor_right: c.zoneOfPartialPreservations.motorRight,
    zpp_motor_left: c.zoneOfPartialPreservations.motorLeft,
    uems_right: t.right.upperExtremity,
    uems_left: t.left.upperExtremity,
    lems_right: t.right.lowerExtremity,
    lems_left: t.left.lowerExtremity,
    motor_right_total: t.right.motor,
    motor_left_total: t.left.motor,
    uems: t.upperExtremity,
    lems: t.lowerExtremity,
    lt_right: t.right.lightTouch,
    lt_left: t.left.lightTouch,
    pp_right: t.right.pinPrick,
    pp_left: t.left.pinPrick,
    lt: t.lightTouch,
    pp: t.pinPrick,
  };
}

function classifyOne(exam) {
  try {
    const record = toRecord(new ISNCSCI(exam));
    for (const key of Object.keys(record)) {
      record[key] = String(record[key]);
    }
    return record;
  } catch (err) {
    return { error: String(err && err.message !== undefined ? err.message : err) };
  }
}

function main(argv) {
  const bench = argv.includes('--bench');
  const files = argv.filter((a) => a !== '--bench');
  const text = fs.readFileSync(files.length > 0 ? files[0] : 0, 'utf8');
  const exams = JSON.parse(text);
  if (!Array.isArray(exams)) {
    throw new Error('input must be a JSON array of exams');
  }
  if (bench) {
    const start = process.hrtime.bigint();
    const results = exams.map(classifyOne);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    process.stdout.write(JSON.stringify({ exams: results.length, seconds }) + '\n');
    return;
  }
  process.stdout.write(JSON.stringify(exams.map(classifyOne)) + '\n');
}

process.stdout.on('error', (err) => {
  // a reader that stops early (`| head`) is not a failure of the oracle
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2));
