// zkprof's circom helper, run by node inside the pinned npm tree zkprof installs.
//
//   setup   --r1cs R --zkey Z --vk V --label L --ptau FILE [--ptau-label TEXT]
//           makes the Groth16 proving key from the powers-of-tau FILE (chosen or made by
//           zkprof before this step, unmeasured) and exports the verification key.
//   outputs --wasm W --inputs F --out O --n-out K --scale S
//           circuit outputs (witness only, no proof) for many inputs.
"use strict";
const fs = require("fs");
const path = require("path");
const snarkjs = require("snarkjs");

function args() {
  const a = { _: process.argv[2] };
  for (let i = 3; i < process.argv.length; i += 2) a[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
  return a;
}

async function setup(a) {
  const r1cs = await snarkjs.r1cs.info(a.r1cs);
  const n = r1cs.nConstraints + r1cs.nPubInputs + r1cs.nOutputs;
  let power = 1;
  while (2 ** power <= n) power++;
  if (!a.ptau) throw new Error("setup needs --ptau FILE (zkprof chooses or makes it before this step)");
  const [file, label] = [a.ptau, a["ptau-label"] || `supplied ${a.ptau}`];
  const ok = await snarkjs.zKey.newZKey(a.r1cs, file, a.zkey);
  if (!ok && ok !== undefined) throw new Error("snarkjs zkey new failed");
  const vk = await snarkjs.zKey.exportVerificationKey(a.zkey);
  fs.writeFileSync(a.vk, JSON.stringify(vk, null, 1));
  fs.writeFileSync(a.label, `${label}; circuit needs 2^${power}; Groth16 phase 2 without contributions (insecure)`);
}

async function outputs(a) {
  const builder = require(path.join(path.dirname(path.resolve(a.wasm)), "witness_calculator.js"));
  const wc = await builder(fs.readFileSync(a.wasm));
  const { base, items } = JSON.parse(fs.readFileSync(a.inputs, "utf8"));
  // The BN254 scalar field: values above p/2 are negative.
  const p = wc.prime || BigInt("21888242871839275222246405745257275088548364400416034343698204186575808495617");
  const k = Number(a["n-out"]);
  const scale = Number(a.scale);
  const out = [];
  for (const item of items) {
    const w = await wc.calculateWitness({ ...base, ...item }, 0);
    out.push(w.slice(1, 1 + k).map((v) => Number(v > p / 2n ? v - p : v) / scale));
  }
  fs.writeFileSync(a.out, JSON.stringify(out));
}

const a = args();
const run = { setup, outputs }[a._];
if (!run) {
  console.error("usage: zkprof_circom.js setup|outputs --...");
  process.exit(2);
}
run(a).then(
  () => process.exit(0),
  (e) => {
    console.error(`error: ${e && e.message ? e.message : e}`);
    process.exit(1);
  }
);
