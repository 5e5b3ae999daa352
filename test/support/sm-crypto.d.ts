/** The part of `sm-crypto` (JuneAndGreen/sm-crypto, no bundled types) the SM2 tests use: it is what the field signs with. */
declare module 'sm-crypto' {
  interface SignOptions {
    hash?: boolean;
    der?: boolean;
    publicKey?: string;
    userId?: string;
  }
  export const sm2: {
    generateKeyPairHex(): { privateKey: string; publicKey: string };
    getPublicKeyFromPrivateKey(privateKey: string): string;
    doSignature(msg: string | ArrayLike<number>, privateKey: string, options?: SignOptions): string;
    doVerifySignature(
      msg: string | ArrayLike<number>,
      signHex: string,
      publicKey: string,
      options?: SignOptions,
    ): boolean;
  };
}
