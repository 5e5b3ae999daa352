import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { addClient } from '../../src/cli/clients-command';
import { ClientRegistry } from '../../src/http/clients';
import { memoryIo } from '../../src/cli/output';

const fileIn = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cli-clients-')), 'clients.json');

describe('gateway clients add', () => {
  it("creates the clients file with a whsec_ secret of 32 random bytes and only the token's SHA-256", () => {
    const file = fileIn();
    const io = memoryIo();
    const c = addClient({ id: 'picc-dh', role: 'insurer', scope: ['PICC_DH'], file }, io);
    expect(c.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(c.secret.slice(6), 'base64')).toHaveLength(32);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toContain(c.token);
    const reg = ClientRegistry.fromFile(file);
    expect(reg.byToken(c.token)?.client_id).toBe('picc-dh');
    expect(reg.get('picc-dh')!.token_sha256).toEqual([crypto.createHash('sha256').update(c.token).digest('hex')]);
    expect(io.stdout).toContain(c.secret);
    expect(io.stdout).toContain(c.token);
  });

  it('adds a second secret and token to an existing client, so the old ones keep working during rotation', () => {
    const file = fileIn();
    const first = addClient({ id: 'dh', role: 'agency', scope: ['5331'], file }, memoryIo());
    const second = addClient({ id: 'dh', role: 'agency', scope: [], file }, memoryIo());
    const reg = ClientRegistry.fromFile(file);
    expect(reg.get('dh')!.signing_secrets).toEqual([first.secret, second.secret]);
    expect(reg.get('dh')!.scope).toEqual(['5331']);
    expect(reg.byToken(first.token)?.client_id).toBe('dh');
    expect(reg.byToken(second.token)?.client_id).toBe('dh');
  });

  it("refuses to change a client's role or to write an invalid file", () => {
    const file = fileIn();
    addClient({ id: 'dh', role: 'agency', scope: ['5331'], file }, memoryIo());
    expect(() => addClient({ id: 'dh', role: 'ops', scope: [], file }, memoryIo())).toThrow(/role/);
    expect(() => addClient({ id: 'bad id!', role: 'ops', scope: [], file }, memoryIo())).toThrow(
      /invalid clients file/,
    );
    expect(ClientRegistry.fromFile(file).all()).toHaveLength(1);
  });
});
