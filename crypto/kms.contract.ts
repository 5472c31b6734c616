/**
 * The contract every Kms backend runs (kms.test.ts): what storage and the
 * rotation command rely on, whatever holds the master keys.
 */
import { describe, expect, it } from 'vitest';
import { isCryptoError, type CryptoErrorCode } from './errors.js';
import type { Kms } from './kms.js';

export interface KmsContractSetup {
  /** a fresh backend whose default key exists */
  make: () => Promise<Kms>;
  /** the same backend type pointed at something that does not answer (optional) */
  makeUnreachable?: () => Promise<Kms>;
  /** whether createKey and rotateKey are supported */
  mutable: boolean;
}

async function expectCode(p: Promise<unknown>, code: CryptoErrorCode): Promise<void> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(isCryptoError(err, code), `expected ${code}, got ${String(err)}`).toBe(true);
}

const CTX = { bucket: 'photos', object: 'cats/1.jpg' };

export function kmsContract(name: string, setup: KmsContractSetup): void {
  describe(`Kms contract: ${name}`, () => {
    it('generates a 32-byte data key that decrypts back with the same context (any key order)', async () => {
      const kms = await setup.make();
      const dk = await kms.generateDataKey(kms.defaultKeyId, CTX);
      expect(dk.plaintext.length).toBe(32);
      expect(dk.keyId).toBe(kms.defaultKeyId);
      expect(dk.keyVersion).toBeGreaterThanOrEqual(1);
      expect(dk.ciphertext.includes(dk.plaintext)).toBe(false);
      const back = await kms.decryptDataKey(kms.defaultKeyId, dk.ciphertext, { object: CTX.object, bucket: CTX.bucket });
      expect(back.equals(dk.plaintext)).toBe(true);
      const dk2 = await kms.generateDataKey(kms.defaultKeyId, CTX);
      expect(dk2.plaintext.equals(dk.plaintext)).toBe(false);
      await kms.close?.();
    });

    it('a wrong context, or a tampered ciphertext, fails with KmsDecryptFailed', async () => {
      const kms = await setup.make();
      const dk = await kms.generateDataKey(kms.defaultKeyId, CTX);
      await expectCode(kms.decryptDataKey(kms.defaultKeyId, dk.ciphertext, { ...CTX, object: 'cats/2.jpg' }), 'KmsDecryptFailed');
      await expectCode(kms.decryptDataKey(kms.defaultKeyId, dk.ciphertext, {}), 'KmsDecryptFailed');
      const bad = Buffer.from(dk.ciphertext);
      bad[bad.length - 3] = bad[bad.length - 3] === 0x41 ? 0x42 : 0x41; // stays valid base64 for Vault
      await expectCode(kms.decryptDataKey(kms.defaultKeyId, bad, CTX), 'KmsDecryptFailed');
      await kms.close?.();
    });

    it('an unknown key fails with KmsKeyNotFound', async () => {
      const kms = await setup.make();
      await expectCode(kms.generateDataKey('no-such-key', CTX), 'KmsKeyNotFound');
      const dk = await kms.generateDataKey(kms.defaultKeyId, CTX);
      await expectCode(kms.decryptDataKey('no-such-key', dk.ciphertext, CTX), 'KmsKeyNotFound');
      await kms.close?.();
    });

    it('lists its keys and reports itself online', async () => {
      const kms = await setup.make();
      const keys = await kms.listKeys();
      expect(keys.map((k) => k.keyId)).toContain(kms.defaultKeyId);
      const st = await kms.status();
      expect(st.online).toBe(true);
      expect(st.backend).toBe(kms.backend);
      await kms.close?.();
    });

    if (setup.mutable) {
      it('rotation keeps old ciphertexts readable; new data keys and rewrap use the newest version', async () => {
        const kms = await setup.make();
        const keyId = `rot-${Math.random().toString(36).slice(2, 10)}`;
        await kms.createKey!(keyId);
        await expectCode(kms.createKey!(keyId), 'KmsKeyExists');
        const old = await kms.generateDataKey(keyId, CTX);
        expect(old.keyVersion).toBe(1);
        expect(await kms.rotateKey!(keyId)).toBe(2);
        expect(await kms.rotateKey!(keyId)).toBe(3);
        expect((await kms.decryptDataKey(keyId, old.ciphertext, CTX)).equals(old.plaintext)).toBe(true);
        const fresh = await kms.generateDataKey(keyId, CTX);
        expect(fresh.keyVersion).toBe(3);
        const rw = await kms.rewrap(keyId, old.ciphertext, CTX);
        expect(rw.keyVersion).toBe(3);
        expect(rw.ciphertext.equals(old.ciphertext)).toBe(false);
        expect(rw.ciphertext.includes(old.plaintext)).toBe(false);
        expect((await kms.decryptDataKey(keyId, rw.ciphertext, CTX)).equals(old.plaintext)).toBe(true);
        await expectCode(kms.rewrap(keyId, old.ciphertext, { other: 'context' }), 'KmsDecryptFailed');
        expect((await kms.listKeys()).find((k) => k.keyId === keyId)?.latestVersion).toBe(3);
        await kms.close?.();
      });
    }

    if (setup.makeUnreachable) {
      const makeUnreachable = setup.makeUnreachable;
      it('an unreachable backend fails with KmsUnavailable (bounded by its timeout) and reports offline', async () => {
        const kms = await makeUnreachable();
        await expectCode(kms.generateDataKey(kms.defaultKeyId, CTX), 'KmsUnavailable');
        await expectCode(kms.decryptDataKey(kms.defaultKeyId, Buffer.from('vault:v1:AAAA'), CTX), 'KmsUnavailable');
        const st = await kms.status();
        expect(st.online).toBe(false);
        expect(st.error).toBeTruthy();
        await kms.close?.();
      }, 20_000);
    }
  });
}
