/**
 * `gateway clients add`: a new client (or a new secret and token for an existing one) in the
 * clients file of spec §2. The secret and token are printed once; the file keeps the secret (the
 * gateway needs it to verify HMACs) but only the token's SHA-256.
 * `gateway clients add-sm2-key`: an SM2 public key (spec §9) for a client, which then signs with
 * its private key (`v1sm2`) — the gateway holds nothing secret of it. Several keys allow rotation.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ClientRegistry, sha256Hex, type Client, type Role } from '../http/clients';
import { parseSm2PublicKeyPem, sm2PublicKeyFromHex, type Sm2PublicKey } from '../http/sm2';
import type { Io } from './output';

export interface AddClientOptions {
  id: string;
  role: string;
  scope: string[];
  file: string;
}
export interface NewCredentials {
  client: Client;
  secret: string;
  token: string;
  created: boolean;
}

export function newSecret(): string {
  return `whsec_${crypto.randomBytes(32).toString('base64')}`;
}

export function newToken(): string {
  return `gwt_${crypto.randomBytes(32).toString('base64url')}`;
}

function readClients(file: string): Client[] {
  const list = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Client[]) : [];
  if (!Array.isArray(list)) throw new Error(`${file} is not a clients file (a JSON array)`);
  return list;
}

function writeClients(file: string, list: Client[]): void {
  ClientRegistry.fromJson(list, file); // refuse to write a file the gateway would refuse to start with
  const tmp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(list, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export function addClient(o: AddClientOptions, io: Io): NewCredentials {
  const list = readClients(o.file);
  const secret = newSecret();
  const token = newToken();
  const existing = list.find((c) => c.client_id === o.id);
  let client: Client;
  if (existing) {
    // A second secret and token for the same client is how rotation works (spec §2): old ones keep
    // working until removed from the file.
    if (existing.role !== o.role)
      throw new Error(`client ${o.id} exists with role ${existing.role}; a client's role does not change`);
    existing.scope = o.scope.length ? o.scope : existing.scope;
    existing.signing_secrets = [...(existing.signing_secrets ?? []), secret];
    existing.token_sha256 = [...(existing.token_sha256 ?? []), sha256Hex(token)];
    client = existing;
  } else {
    client = {
      client_id: o.id,
      role: o.role as Role,
      scope: o.scope,
      signing_secrets: [secret],
      token_sha256: [sha256Hex(token)],
    };
    list.push(client);
  }
  writeClients(o.file, list);
  io.out(
    `${existing ? 'added a new secret and token to' : 'created'} client ${o.id} (${o.role}) in ${o.file}\n` +
      `signing secret (shown once): ${secret}\nbearer token  (shown once): ${token}\n`,
  );
  return { client, secret, token, created: !existing };
}

export interface AddSm2KeyOptions {
  id: string;
  /** A PEM file (SPKI, or an X.509 certificate), a PEM text, or sm-crypto's hex public key (04‖x‖y). */
  key: string;
  file: string;
  /** For a client not yet in the file: created with this role and scope, the SM2 key and a bearer token (no secret). */
  role?: string;
  scope?: string[];
}

/** The key as given: sm-crypto's hex, PEM text, or the name of a PEM file. */
export function readSm2PublicKey(key: string): Sm2PublicKey {
  const k = key.trim();
  if (/^[0-9a-fA-F]{128,130}$/.test(k)) return sm2PublicKeyFromHex(k);
  const pem = k.startsWith('-----BEGIN') ? k : fs.readFileSync(k, 'utf8');
  return parseSm2PublicKeyPem(pem);
}

export function addSm2Key(
  o: AddSm2KeyOptions,
  io: Io,
): { client: Client; key: Sm2PublicKey; token?: string; created: boolean } {
  const key = readSm2PublicKey(o.key);
  const list = readClients(o.file);
  const existing = list.find((c) => c.client_id === o.id);
  if (existing) {
    if (o.role && existing.role !== o.role)
      throw new Error(`client ${o.id} exists with role ${existing.role}; a client's role does not change`);
    const known = (existing.sm2_public_keys ?? []).map((pem) => parseSm2PublicKeyPem(pem).hex);
    if (known.includes(key.hex)) {
      io.out(`client ${o.id} already has SM2 key ${key.kid}; nothing changed\n`);
      return { client: existing, key, created: false };
    }
    // Rotation as with secrets: the old key keeps verifying until it is removed from the file.
    existing.sm2_public_keys = [...(existing.sm2_public_keys ?? []), key.pem];
    writeClients(o.file, list);
    io.out(`added SM2 key ${key.kid} to client ${o.id} in ${o.file} (${existing.sm2_public_keys.length} key(s))\n`);
    return { client: existing, key, created: false };
  }
  if (!o.role)
    throw new Error(`client ${o.id} is not in ${o.file}; give --role and --scope to create it with this key`);
  const token = newToken();
  const client: Client = {
    client_id: o.id,
    role: o.role as Role,
    scope: o.scope ?? [],
    signing_secrets: [],
    token_sha256: [sha256Hex(token)],
    sm2_public_keys: [key.pem],
  };
  list.push(client);
  writeClients(o.file, list);
  io.out(
    `created client ${o.id} (${o.role}) in ${o.file} with SM2 key ${key.kid} and no signing secret\nbearer token  (shown once): ${token}\n`,
  );
  return { client, key, token, created: true };
}
