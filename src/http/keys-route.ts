/**
 * `GET /v1/keys` (spec §9): the gateway's public signing keys, so a subscriber that asked for
 * `v1sm2` deliveries can verify them. Public by nature: no credential is asked for.
 */
import { Router } from 'express';
import type { Sm2PublicKey } from './sm2';

export interface KeysRouterDeps {
  sm2PublicKey: Sm2PublicKey;
}

export function keysView(key: Sm2PublicKey) {
  return { keys: [{ kid: key.kid, alg: 'SM2', use: 'sig', pem: key.pem, public_key_hex: key.hex }] };
}

export function keysRouter(deps: KeysRouterDeps): Router {
  const r = Router();
  const body = keysView(deps.sm2PublicKey);
  r.get('/v1/keys', (_req, res) => {
    res.setHeader('cache-control', 'public, max-age=300');
    res.json(body);
  });
  return r;
}
