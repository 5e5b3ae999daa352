/** The clients every e2e test uses: two insurers, two institutions, the Dehong agency, ops. */
import crypto from 'node:crypto';
import { ClientRegistry, type Client } from '../../src/http/clients';

const secret = (seed: string) => `whsec_${crypto.createHash('sha256').update(seed).digest('base64')}`;
const hash = (t: string) => crypto.createHash('sha256').update(t).digest('hex');

export const TEST_CLIENTS = {
  insurerA: { client_id: 'picc-dh', role: 'insurer', scope: ['PICC_DH'], secret: secret('picc'), oldSecret: secret('picc-old'), token: 'tok-picc-dh-0001' },
  insurerB: { client_id: 'cpic-dh', role: 'insurer', scope: ['CPIC_DH'], secret: secret('cpic'), token: 'tok-cpic-dh-0001' },
  hospital1: { client_id: 'h1', role: 'institution', scope: ['H53310200001'], secret: secret('h1'), token: 'tok-hospital-0001' },
  hospital2: { client_id: 'h2', role: 'institution', scope: ['H53310200002'], secret: secret('h2'), token: 'tok-hospital-0002' },
  /** A second system of hospital 1 (another client with the same scope): its answers must never show hospital1's ids. */
  hospital1b: { client_id: 'h1-his2', role: 'institution', scope: ['H53310200001'], secret: secret('h1b'), token: 'tok-hospital-0001b' },
  agency: { client_id: 'dehong-agency', role: 'agency', scope: ['5331', '1509', '9999'], secret: secret('agency'), token: 'tok-agency-5331' },
  agencyOther: { client_id: 'jiaozuo-agency', role: 'agency', scope: ['4108'], secret: secret('jz'), token: 'tok-agency-4108' },
  ops: { client_id: 'ops', role: 'ops', scope: [], secret: secret('ops'), token: 'tok-ops-000001' },
} as const;

export type TestClientName = keyof typeof TEST_CLIENTS;

export function testClientRegistry(): ClientRegistry {
  const list: Client[] = Object.values(TEST_CLIENTS).map((c) => ({
    client_id: c.client_id, role: c.role as Client['role'], scope: [...c.scope],
    signing_secrets: 'oldSecret' in c ? [c.secret, c.oldSecret] : [c.secret],
    token_sha256: [hash(c.token)],
  }));
  return new ClientRegistry(list);
}
