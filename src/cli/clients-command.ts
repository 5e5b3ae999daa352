/**
 * `gateway clients add`: a new client (or a new secret and token for an existing one) in the
 * clients file of spec §2. The secret and token are printed once; the file keeps the secret (the
 * gateway needs it to verify HMACs) but only the token's SHA-256.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ClientRegistry, sha256Hex, type Client, type Role } from '../http/clients';
import type { Io } from './output';

export interface AddClientOptions { id: string; role: string; scope: string[]; file: string }
export interface NewCredentials { client: Client; secret: string; token: string; created: boolean }

export function newSecret(): string {
  return `whsec_${crypto.randomBytes(32).toString('base64')}`;
}

export function newToken(): string {
  return `gwt_${crypto.randomBytes(32).toString('base64url')}`;
}

export function addClient(o: AddClientOptions, io: Io): NewCredentials {
  const list: Client[] = fs.existsSync(o.file) ? (JSON.parse(fs.readFileSync(o.file, 'utf8')) as Client[]) : [];
  if (!Array.isArray(list)) throw new Error(`${o.file} is not a clients file (a JSON array)`);
  const secret = newSecret();
  const token = newToken();
  const existing = list.find((c) => c.client_id === o.id);
  let client: Client;
  if (existing) {
    // A second secret and token for the same client is how rotation works (spec §2): old ones keep
    // working until removed from the file.
    if (existing.role !== o.role) throw new Error(`client ${o.id} exists with role ${existing.role}; a client's role does not change`);
    existing.scope = o.scope.length ? o.scope : existing.scope;
    existing.signing_secrets = [...(existing.signing_secrets ?? []), secret];
    existing.token_sha256 = [...(existing.token_sha256 ?? []), sha256Hex(token)];
    client = existing;
  } else {
    client = { client_id: o.id, role: o.role as Role, scope: o.scope, signing_secrets: [secret], token_sha256: [sha256Hex(token)] };
    list.push(client);
  }
  ClientRegistry.fromJson(list, o.file); // refuse to write a file the gateway would refuse to start with
  const tmp = path.join(path.dirname(path.resolve(o.file)), `.${path.basename(o.file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(list, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, o.file);
  io.out(`${existing ? 'added a new secret and token to' : 'created'} client ${o.id} (${o.role}) in ${o.file}\n` +
    `signing secret (shown once): ${secret}\nbearer token  (shown once): ${token}\n`);
  return { client, secret, token, created: !existing };
}
