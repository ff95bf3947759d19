// zkprof's circom helper, run by node inside the pinned npm tree zkprof installs.
//
//   setup   --r1cs R --zkey Z --vk V --label L --ptau-dir D [--ptau FILE]
//           picks a powers-of-tau file large enough for the circuit (FILE; else a cached
//           one; else the public Hermez file checked against its published blake2b hash;
//           else a local one-contributor ceremony, labelled insecure), then makes the
//           Groth16 proving key and exports the verification key.
//   outputs --wasm W --inputs F --out O --n-out K --scale S
//           circuit outputs (witness only, no proof) for many inputs.
"use strict";
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");
const snarkjs = require("snarkjs");

// blake2b-512 of powersOfTau28_hez_final_K.ptau, as published in the snarkjs README.
const HERMEZ_BLAKE2B = {
  10: "6cfeb8cda92453099d20120bdd0e8a5c4e7706c2da9a8f09ccc157ed2464d921fd0437fb70db42104769efd7d6f3c1f964bcf448c455eab6f6c7d863e88a5849",
  11: "47c282116b892e5ac92ca238578006e31a47e7c7e70f0baa8b687f0a5203e28ea07bbbec765a98dcd654bad618475d4661bfaec3bd9ad2ed12e7abc251d94d33",
  12: "ded2694169b7b08e898f736d5de95af87c3f1a64594013351b1a796dbee393bd825f88f9468c84505ddd11eb0b1465ac9b43b9064aa8ec97f2b73e04758b8a4a",
  13: "58efc8bf2834d04768a3d7ffcd8e1e23d461561729beaac4e3e7a47829a1c9066d5320241e124a1a8e8aa6c75be0ba66f65bc8239a0542ed38e11276f6fdb4d9",
  14: "eeefbcf7c3803b523c94112023c7ff89558f9b8e0cf5d6cdcba3ade60f168af4a181c9c21774b94fbae6c90411995f7d854d02ebd93fb66043dbb06f17a831c1",
  15: "982372c867d229c236091f767e703253249a9b432c1710b4f326306bfa2428a17b06240359606cfe4d580b10a5a1f63fbed499527069c18ae17060472969ae6e",
  16: "6a6277a2f74e1073601b4f9fed6e1e55226917efb0f0db8a07d98ab01df1ccf43eb0e8c3159432acd4960e2f29fe84a4198501fa54c8dad9e43297453efec125",
  17: "6247a3433948b35fbfae414fa5a9355bfb45f56efa7ab4929e669264a0258976741dfbe3288bfb49828e5df02c2e633df38d2245e30162ae7e3bcca5b8b49345",
  18: "7e6a9c2e5f05179ddfc923f38f917c9e6831d16922a902b0b4758b8e79c2ab8a81bb5f29952e16ee6c5067ed044d7857b5de120a90704c1d3b637fd94b95b13e",
};

function args() {
  const a = { _: process.argv[2] };
  for (let i = 3; i < process.argv.length; i += 2) a[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
  return a;
}

function digest(file, algo) {
  return crypto.createHash(algo).update(fs.readFileSync(file)).digest("hex");
}

function sidecar(file) {
  return file + ".zkprof.json";
}

// A cached ptau whose sidecar hash matches, or null (a corrupt one is removed).
function cachedPtau(file) {
  if (!fs.existsSync(file) || !fs.existsSync(sidecar(file))) return null;
  try {
    const m = JSON.parse(fs.readFileSync(sidecar(file), "utf8"));
    if (digest(file, "sha256") === m.sha256) return m.label;
    console.error(`cached ptau ${file} does not match its hash; making it again`);
  } catch (e) {
    console.error(`cached ptau ${file} unreadable (${e.message}); making it again`);
  }
  fs.rmSync(file, { force: true });
  fs.rmSync(sidecar(file), { force: true });
  return null;
}

function seal(file, label) {
  fs.writeFileSync(sidecar(file), JSON.stringify({ sha256: digest(file, "sha256"), label }, null, 2));
  return label;
}

async function download(power, file) {
  const url = `https://storage.googleapis.com/zkevm/ptau/powersOfTau28_hez_final_${String(power).padStart(2, "0")}.ptau`;
  const res = await fetch(url, { signal: AbortSignal.timeout(120000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  fs.writeFileSync(file + ".part", Buffer.from(await res.arrayBuffer()));
  const got = digest(file + ".part", "blake2b512");
  if (got !== HERMEZ_BLAKE2B[power]) throw new Error(`${url}: blake2b ${got.slice(0, 16)}… is not the published hash`);
  fs.renameSync(file + ".part", file);
  return seal(file, `public Hermez powersOfTau28_hez_final_${power} (blake2b verified)`);
}

async function ceremony(power, file) {
  const curve = await snarkjs.curves.getCurveFromName("bn128");
  const [p0, p1] = [file + ".0", file + ".1"];
  await snarkjs.powersOfTau.newAccumulator(curve, power, p0);
  await snarkjs.powersOfTau.contribute(p0, p1, "zkprof", crypto.randomBytes(32).toString("hex"));
  await snarkjs.powersOfTau.preparePhase2(p1, file);
  fs.rmSync(p0, { force: true });
  fs.rmSync(p1, { force: true });
  return seal(file, `local ceremony 2^${power}, one contributor (insecure: for benchmarks only)`);
}

async function pickPtau(a, power) {
  if (a.ptau) return { file: a.ptau, label: `supplied ${a.ptau}` };
  fs.mkdirSync(a["ptau-dir"], { recursive: true });
  for (let k = power; k <= 28; k++) {
    for (const kind of ["hez", "local"]) {
      const file = path.join(a["ptau-dir"], `pot${k}_${kind}.ptau`);
      const label = cachedPtau(file);
      if (label) return { file, label };
    }
  }
  const p = Math.max(power, 10);
  if (HERMEZ_BLAKE2B[p]) {
    const file = path.join(a["ptau-dir"], `pot${p}_hez.ptau`);
    try {
      return { file, label: await download(p, file) };
    } catch (e) {
      console.error(`public ptau unavailable (${e.message}); running a local ceremony`);
      fs.rmSync(file + ".part", { force: true });
    }
  }
  const file = path.join(a["ptau-dir"], `pot${power}_local.ptau`);
  return { file, label: await ceremony(power, file) };
}

async function setup(a) {
  const r1cs = await snarkjs.r1cs.info(a.r1cs);
  const n = r1cs.nConstraints + r1cs.nPubInputs + r1cs.nOutputs;
  let power = 1;
  while (2 ** power <= n) power++;
  const { file, label } = await pickPtau(a, power);
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
