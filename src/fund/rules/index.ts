/** The fund year's pure rules (spec §8): the fund section of a region policy and the premium chain. */
export * from './fund-policy';
export * from './premium-chain';
