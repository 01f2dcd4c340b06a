/** The API of the three kinds: names and constants, condition helpers, and the types generated from crds/. */
export * from './constants.ts';
export * from './conditions.ts';
export * from './generated.ts';
