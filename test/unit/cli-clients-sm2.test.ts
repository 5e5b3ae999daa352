import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sm2 as smCrypto } from 'sm-crypto';
import { addClient, addSm2Key } from '../../src/cli/clients-command';
import { ClientRegistry } from '../../src/http/clients';
import { sm2PublicKeyFromHex } from '../../src/http/sm2';
import { main } from '../../src/cli/main';
import { memoryIo } from '../../src/cli/output';

const dir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cli-sm2-'));

describe('gateway clients add-sm2-key', () => {
  test('when a hex key from sm-crypto is added to an existing client, then the file keeps its PEM and the secret stays', () => {
    const file = path.join(dir(), 'clients.json');
    const first = addClient({ id: 'h1', role: 'institution', scope: ['H53310200001'], file }, memoryIo());
    const { publicKey } = smCrypto.generateKeyPairHex();
    const io = memoryIo();
    addSm2Key({ id: 'h1', key: publicKey, file }, io);
    const reg = ClientRegistry.fromFile(file);
    expect(reg.get('h1')!.signing_secrets).toEqual([first.secret]);
    expect(reg.sm2Keys('h1').map((k) => k.hex)).toEqual([publicKey]);
    expect(io.stdout).toContain(`added SM2 key ${sm2PublicKeyFromHex(publicKey).kid}`);
  });

  test('when a second key is added (rotation), then both verify; the same key twice changes nothing', () => {
    const d = dir();
    const file = path.join(d, 'clients.json');
    const a = smCrypto.generateKeyPairHex().publicKey;
    const b = smCrypto.generateKeyPairHex().publicKey;
    const pemFile = path.join(d, 'b.pem');
    fs.writeFileSync(pemFile, sm2PublicKeyFromHex(b).pem);
    addSm2Key({ id: 'dh', key: a, file, role: 'agency', scope: ['5331'] }, memoryIo());
    addSm2Key({ id: 'dh', key: pemFile, file }, memoryIo());
    const io = memoryIo();
    addSm2Key({ id: 'dh', key: a, file }, io);
    expect(io.stdout).toContain('nothing changed');
    expect(
      ClientRegistry.fromFile(file)
        .sm2Keys('dh')
        .map((k) => k.hex),
    ).toEqual([a, b]);
  });

  test('when the client is new, then it is created with the key, a bearer token and no signing secret', () => {
    const file = path.join(dir(), 'clients.json');
    const r = addSm2Key(
      { id: 'h2', key: smCrypto.generateKeyPairHex().publicKey, file, role: 'institution', scope: ['H53310200002'] },
      memoryIo(),
    );
    const reg = ClientRegistry.fromFile(file);
    expect(reg.get('h2')!.signing_secrets).toEqual([]);
    expect(reg.byToken(r.token!)?.client_id).toBe('h2');
  });

  test('when the client is unknown and no role is given, or the key is not SM2, then nothing is written', () => {
    const file = path.join(dir(), 'clients.json');
    expect(() => addSm2Key({ id: 'x', key: smCrypto.generateKeyPairHex().publicKey, file }, memoryIo())).toThrow(
      /--role/,
    );
    expect(() => addSm2Key({ id: 'x', key: `04${'00'.repeat(64)}`, file, role: 'ops' }, memoryIo())).toThrow(
      /not a point on the SM2 curve/,
    );
    expect(fs.existsSync(file)).toBe(false);
  });

  test('when run through the CLI, then `clients add-sm2-key` writes the key', async () => {
    const file = path.join(dir(), 'clients.json');
    const key = smCrypto.generateKeyPairHex().publicKey;
    const io = memoryIo();
    expect(
      await main(
        [
          'clients',
          'add-sm2-key',
          '--id',
          'h3',
          '--key',
          key,
          '--role',
          'institution',
          '--scope',
          'H53310200003',
          '--file',
          file,
        ],
        io,
        {},
      ),
    ).toBe(0);
    expect(ClientRegistry.fromFile(file).sm2Keys('h3')).toHaveLength(1);
  });
});
