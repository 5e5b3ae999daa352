/**
 * The demo's own clients: fixed, published credentials for trying the gateway on one machine.
 * `gateway demo` adds them beside GATEWAY_CLIENTS_FILE's clients; never use them in production.
 */
import crypto from 'node:crypto';
import type { Client } from '../http/clients';
import type { DemoRole } from './demo-month';

const secret = (seed: string) => `whsec_${crypto.createHash('sha256').update(`hifob-demo:${seed}`).digest('base64')}`;
const sha = (t: string) => crypto.createHash('sha256').update(t).digest('hex');

export const DEMO_OPS_TOKEN = 'demo-ops-token';
export const DEMO_AGENCY_TOKEN = 'demo-agency-token';

export const DEMO_CLIENTS: Record<DemoRole | 'ops', Client & { secret: string; token: string }> = Object.fromEntries(
  (
    [
      ['agency', 'demo-agency', 'agency', ['5331', '1509', '9999'], DEMO_AGENCY_TOKEN],
      ['institution1', 'demo-h1', 'institution', ['H53310200001'], 'demo-h1-token'],
      ['institution2', 'demo-h2', 'institution', ['H53310200002'], 'demo-h2-token'],
      ['institution3', 'demo-h3', 'institution', ['H53310200003'], 'demo-h3-token'],
      ['insurerA', 'demo-picc', 'insurer', ['PICC_DH'], 'demo-picc-token'],
      ['insurerB', 'demo-cpic', 'insurer', ['CPIC_DH'], 'demo-cpic-token'],
      ['ops', 'demo-ops', 'ops', [], DEMO_OPS_TOKEN],
    ] as const
  ).map(([key, id, role, scope, token]) => [
    key,
    {
      client_id: id,
      role,
      scope: [...scope],
      secret: secret(id),
      token,
      signing_secrets: [secret(id)],
      token_sha256: [sha(token)],
    },
  ]),
) as Record<DemoRole | 'ops', Client & { secret: string; token: string }>;
