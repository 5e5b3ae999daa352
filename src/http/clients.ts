/**
 * The clients file (spec §2): who may send and read what. Loaded and validated at start-up; a bad
 * file stops start-up with a message naming the entry.
 */
import Ajv2020 from 'ajv/dist/2020';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { parseSm2PublicKeyPem, type Sm2PublicKey } from './sm2';

/** Spec §2 and §8: `tax` (税务) and `finance` (财政) are scoped by admdvs prefixes like `agency`. */
export type Role = 'insurer' | 'institution' | 'agency' | 'ops' | 'tax' | 'finance';

export interface Client {
  client_id: string;
  role: Role;
  /** insurer codes, fixmedins codes, or admdvs prefixes (agency, tax, finance) by role; ignored for ops */
  scope: string[];
  signing_secrets: string[];
  token_sha256: string[];
  /** SM2 public keys (SPKI PEM) for `v1sm2` signatures (spec §9); several allow rotation like secrets. */
  sm2_public_keys?: string[];
}

const CLIENTS_SCHEMA = {
  type: 'array',
  items: {
    type: 'object',
    required: ['client_id', 'role', 'scope'],
    additionalProperties: false,
    properties: {
      client_id: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$' },
      role: { enum: ['insurer', 'institution', 'agency', 'ops', 'tax', 'finance'] },
      scope: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 30 } },
      signing_secrets: { type: 'array', items: { type: 'string', pattern: '^whsec_[A-Za-z0-9+/]+={0,2}$' } },
      token_sha256: { type: 'array', items: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
      sm2_public_keys: {
        type: 'array',
        maxItems: 8,
        items: { type: 'string', pattern: '^-----BEGIN PUBLIC KEY-----', maxLength: 2000 },
      },
    },
  },
};

export class ClientRegistry {
  private readonly byId = new Map<string, Client>();
  private readonly byTokenHash = new Map<string, Client>();
  private readonly sm2ById = new Map<string, Sm2PublicKey[]>();

  constructor(clients: Client[]) {
    for (const c of clients) {
      if (this.byId.has(c.client_id)) throw new Error(`clients file: client_id "${c.client_id}" appears twice`);
      this.byId.set(c.client_id, c);
      for (const h of c.token_sha256) this.byTokenHash.set(h, c);
      // Parsed once, here: a key that is not an SM2 public key stops start-up naming its entry.
      const keys = (c.sm2_public_keys ?? []).map((pem, i) => {
        try {
          return parseSm2PublicKeyPem(pem);
        } catch (e) {
          throw new Error(`clients file: client "${c.client_id}" sm2_public_keys[${i}]: ${(e as Error).message}`, {
            cause: e,
          });
        }
      });
      if (keys.length) this.sm2ById.set(c.client_id, keys);
    }
  }

  static fromFile(file: string | undefined): ClientRegistry {
    if (!file) return new ClientRegistry([]);
    let data: unknown;
    try {
      data = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`GATEWAY_CLIENTS_FILE ${file}: ${(e as Error).message}`, { cause: e });
    }
    return ClientRegistry.fromJson(data, file);
  }

  static fromJson(data: unknown, name = 'clients'): ClientRegistry {
    const validate = new Ajv2020({ allErrors: true }).compile(CLIENTS_SCHEMA);
    if (!validate(data)) {
      const e = validate.errors!.map((x) => `${x.instancePath || '/'} ${x.message}`).join('; ');
      throw new Error(`${name}: invalid clients file: ${e}`);
    }
    return new ClientRegistry(
      (data as Client[]).map((c) => ({
        ...c,
        signing_secrets: c.signing_secrets ?? [],
        token_sha256: c.token_sha256 ?? [],
      })),
    );
  }

  get(clientId: string): Client | undefined {
    return this.byId.get(clientId);
  }
  all(): Client[] {
    return [...this.byId.values()];
  }
  /** The client's SM2 public keys, parsed (empty when it has none). */
  sm2Keys(clientId: string): readonly Sm2PublicKey[] {
    return this.sm2ById.get(clientId) ?? [];
  }

  /** The client a bearer token belongs to (the file stores only SHA-256 of tokens). */
  byToken(token: string): Client | undefined {
    return this.byTokenHash.get(sha256Hex(token));
  }
}

export function sha256Hex(data: string | Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}
