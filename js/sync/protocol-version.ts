/** The sync protocol this build speaks (hello). A peer with another one gets an error and nothing changes. */
export const PROTOCOL_VERSION = 3;
/** The store name that carries a connection's features (wire.ts); no store may have it. */
export const FEATURES_STORE = '\u0000features';
