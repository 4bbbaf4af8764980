// "Prove it", checked in the person's own browser: downloads the record's proof (the same JSON
// file the page offers), checks that the checkpoint is signed by the log's published key
// (Ed25519 through Web Crypto, where the browser has it) and that the audit path leads from the
// record's leaf hash to the checkpoint's root (RFC 9162 §2.1.3.2), and says which in plain words.
// The same checks as the documented script (docs/transparency.md); the server's own check is on
// the page already, so without JavaScript nothing is lost.
//
// The page's element carrying data-proof-check holds the words (translated by the server) and
// names the JSON element with the published verifier keys.

const encoder = new TextEncoder();

class ProofFailure extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason; // a key of the element's data-reason-* texts
  }
}

function bytesOf(base64) {
  let binary;
  try {
    binary = atob(base64);
  } catch {
    throw new ProofFailure("malformed");
  }
  return Uint8Array.from(binary, (character) => character.charCodeAt(0));
}

function hex(bytes) {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function equal(a, b) {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

async function sha256(...parts) {
  const data = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    data.set(part, offset);
    offset += part.length;
  }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}

// RFC 9162 §2.1.1: leaf hash = SHA-256(0x00 || entry), node hash = SHA-256(0x01 || left || right).
export const leafHash = (entry) => sha256(Uint8Array.of(0), encoder.encode(entry));
export const nodeHash = (left, right) => sha256(Uint8Array.of(1), left, right);

// RFC 9162 §2.1.3.2: the root an inclusion proof leads to. Halving with Math.floor, not >>, so
// indexes past 2^31 stay exact.
export async function rootFromInclusion(index, size, leaf, path) {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) {
    throw new ProofFailure("wrong-size");
  }
  let fn = index;
  let sn = size - 1;
  let result = leaf;
  for (const sibling of path) {
    if (sn === 0 || sibling.length !== 32) throw new ProofFailure("wrong-path");
    if (fn % 2 === 1 || fn === sn) {
      result = await nodeHash(sibling, result);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      result = await nodeHash(result, sibling);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new ProofFailure("wrong-path");
  return result;
}

// A verifier key as Go's note package writes it: <name>+<hex key id>+<base64(0x01 || key)>.
function parseVerifier(text) {
  const first = text.indexOf("+");
  const second = text.indexOf("+", first + 1);
  if (first < 1 || second < 0) throw new ProofFailure("malformed");
  const raw = bytesOf(text.slice(second + 1));
  if (raw.length !== 33 || raw[0] !== 1) throw new ProofFailure("malformed");
  return { name: text.slice(0, first), keyId: text.slice(first + 1, second), publicKey: raw.slice(1), text };
}

// A C2SP signed note: the text, a blank line, then "— <name> <base64(key id || signature)>" lines.
function parseNote(note) {
  const split = note.lastIndexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) throw new ProofFailure("malformed");
  const text = note.slice(0, split + 1);
  const signatures = note
    .slice(split + 2, -1)
    .split("\n")
    .map((line) => {
      const match = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!match) throw new ProofFailure("malformed");
      const raw = bytesOf(match[2]);
      return { name: match[1], keyId: hex(raw.slice(0, 4)), signature: raw.slice(4) };
    });
  const [origin, size, root] = text.split("\n");
  if (!/^(0|[1-9][0-9]*)$/.test(size || "")) throw new ProofFailure("malformed");
  return { text, signatures, origin, size: Number(size), root: bytesOf(root || "") };
}

// true: signed by the key; false: the signature does not verify; null: no Ed25519 here.
async function signedBy(verifier, signature, text) {
  // The key id is the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key).
  const keyId = await sha256(encoder.encode(`${verifier.name}\n`), Uint8Array.of(1), verifier.publicKey);
  if (hex(keyId.slice(0, 4)) !== verifier.keyId) throw new ProofFailure("unknown-key");
  let key;
  try {
    key = await crypto.subtle.importKey("raw", verifier.publicKey, { name: "Ed25519" }, false, ["verify"]);
  } catch {
    return null;
  }
  return crypto.subtle.verify({ name: "Ed25519" }, key, signature, encoder.encode(text));
}

export async function checkProof(proof, verifierTexts) {
  if (typeof proof.entry !== "string" || !Array.isArray(proof.inclusion_proof)) {
    throw new ProofFailure("malformed");
  }
  const note = parseNote(String(proof.checkpoint || ""));
  const verifiers = verifierTexts.map(parseVerifier);
  let match = null;
  for (const signature of note.signatures) {
    const verifier = verifiers.find((v) => v.name === signature.name && v.keyId === signature.keyId);
    if (verifier) {
      match = { verifier, signature };
      break;
    }
  }
  if (!match) throw new ProofFailure("unknown-key");
  const signed = await signedBy(match.verifier, match.signature.signature, note.text);
  if (signed === false) throw new ProofFailure("bad-signature");
  if (proof.tree_size !== undefined && proof.tree_size !== note.size) throw new ProofFailure("wrong-size");
  const leaf = await leafHash(proof.entry);
  const root = await rootFromInclusion(
    proof.leaf_index,
    note.size,
    leaf,
    proof.inclusion_proof.map((hash) => bytesOf(hash)),
  );
  if (!equal(root, note.root)) throw new ProofFailure("wrong-root");
  return { index: proof.leaf_index, size: note.size, origin: note.origin, key: match.verifier.text, signed };
}

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

function show(holder, kind, text) {
  holder.replaceChildren();
  const paragraph = document.createElement("p");
  paragraph.className = "govuk-body od-break-anywhere";
  paragraph.textContent = text;
  holder.className = kind === "failed" ? "govuk-error-summary" : "govuk-inset-text";
  holder.dataset.result = kind;
  holder.append(paragraph);
}

async function run(holder) {
  const texts = holder.dataset;
  const reason = (key) => texts[`reason${key.replace(/(^|-)(\w)/g, (_, __, c) => c.toUpperCase())}`] || key;
  show(holder, "checking", texts.textChecking);
  if (!window.crypto || !window.crypto.subtle) {
    show(holder, "unavailable", fill(texts.textUnavailable, { reason: reason("no-crypto") }));
    return;
  }
  let proof;
  try {
    const response = await fetch(texts.proofUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.status === 202) {
      show(holder, "unavailable", fill(texts.textUnavailable, { reason: reason("pending") }));
      return;
    }
    if (!response.ok) throw new Error(String(response.status));
    proof = await response.json();
  } catch {
    show(holder, "unavailable", fill(texts.textUnavailable, { reason: reason("fetch") }));
    return;
  }
  const keysElement = document.getElementById(texts.verifierKeys);
  const published = keysElement ? JSON.parse(keysElement.textContent) : [];
  try {
    const result = await checkProof(proof, published);
    show(holder, result.signed ? "verified" : "partly", fill(result.signed ? texts.textVerified : texts.textPartly, result));
  } catch (error) {
    // Anything else (a value of the wrong type, a signature Web Crypto refuses to read) is a
    // file that is not a proof.
    const why = error instanceof ProofFailure ? error.reason : "malformed";
    show(holder, "failed", fill(texts.textFailed, { reason: reason(why) }));
  }
}

// Imported elsewhere (the tests run the checks under Node) there is no page to fill.
const holder = typeof document === "undefined" ? null : document.querySelector("[data-proof-check]");
if (holder) run(holder);
